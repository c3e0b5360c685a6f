tsx
