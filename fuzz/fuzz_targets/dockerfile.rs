#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| wbox_runtime::fuzzing::dockerfile(text));
