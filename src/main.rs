//! The `kdump-flat` command-line tool.

fn main() -> std::process::ExitCode {
    kdump_flat::cli::main()
}
