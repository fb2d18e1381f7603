//! The `rollsim` binary: everything lives in the library; see `rollsim::cli`.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(rollsim::cli::run(std::env::args_os()))
}
