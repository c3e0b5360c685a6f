ts
