#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| wbox_runtime::fuzzing::manifest(bytes));
