#![no_main]

// The first line is the registry, the rest the config file.
libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let (registry, config) = match bytes.iter().position(|&b| b == b'\n') {
        Some(at) => (String::from_utf8_lossy(&bytes[..at]).into_owned(), &bytes[at + 1..]),
        None => ("docker.io".to_owned(), bytes),
    };
    wbox_runtime::fuzzing::auth(config, &registry);
});
