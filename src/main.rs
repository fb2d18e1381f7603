//! The `rollsim` binary: everything lives in the library; see `rollsim::cli`.

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    std::process::ExitCode::from(rollsim::cli::run(std::env::args_os()))
}

/// Rust ignores SIGPIPE, so printing to a closed pipe (`rollsim plan x | head`) is an error
/// that `println!` turns into a panic. A command-line tool should instead end quietly when its
/// reader goes away, as `cat` and `grep` do: restore the default action, which ends the process
/// at the first write to a closed pipe. Covers every command's stdout at once.
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in `main`, before any thread exists; setting a signal's
    // disposition to SIG_DFL has no other effect on the process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
