#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let base = tempfile::tempdir().expect("a temporary directory");
    wbox_runtime::fuzzing::layer(bytes, base.path());
});
