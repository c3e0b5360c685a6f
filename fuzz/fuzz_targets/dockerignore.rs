#![no_main]

// The first line is the path asked about, the rest the patterns.
libfuzzer_sys::fuzz_target!(|text: &str| {
    let (path, patterns) = text.split_once('\n').unwrap_or((text, ""));
    wbox_runtime::fuzzing::dockerignore(patterns, path);
});
