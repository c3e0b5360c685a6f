//! The syscall filter of a native container: the calls Docker's default
//! profile refuses to a container without extra capabilities, refused with
//! EPERM; everything else allowed. Docker writes its profile as an
//! allow-list of some 350 calls; the deny-list of what it leaves out is
//! shorter to read and refuses the same dangerous calls (kernel modules,
//! keyrings, mounts and namespaces, clocks, BPF, perf, reboot, swap,
//! io_uring).

use serde_json::{Value, json};

/// Names as libseccomp knows them on every Linux architecture we build for.
const REFUSED: &[&str] = &[
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "get_kernel_syms",
    "get_mempolicy",
    "init_module",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "kcmp",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "mbind",
    "mount",
    "mount_setattr",
    "move_mount",
    "move_pages",
    "name_to_handle_at",
    "nfsservctl",
    "open_by_handle_at",
    "open_tree",
    "perf_event_open",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "query_module",
    "quotactl",
    "reboot",
    "request_key",
    "set_mempolicy",
    "setns",
    "settimeofday",
    "swapoff",
    "swapon",
    "_sysctl",
    "syslog",
    "umount2",
    "unshare",
    "uselib",
    "userfaultfd",
    "ustat",
];

/// The `linux.seccomp` section of the runtime spec.
pub(super) fn default_profile() -> Value {
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{ "names": REFUSED, "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EPERM }],
    })
}
