//! Log lines carry colour only on a terminal: stderr captured to a pipe or a file (cron,
//! systemd, CI) gets plain text, and `NO_COLOR` turns colour off on a terminal too. The
//! terminal is a pseudo-terminal from util-linux's `script`.

#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Output, Stdio};

use common::{Case, FX, definition_sync};

/// True when `bytes` holds an ANSI colour (SGR) sequence, `ESC [ digits/; m`. Cursor
/// movements of progress bars on a terminal are not colour and do not count.
fn has_colour(bytes: &[u8]) -> bool {
    bytes.windows(2).enumerate().any(|(at, w)| {
        w == b"\x1b["
            && bytes[at + 2..]
                .iter()
                .find(|b| !(b.is_ascii_digit() || **b == b';'))
                .is_some_and(|b| *b == b'm')
    })
}

async fn case() -> Case {
    let case = Case::new(
        FX,
        "",
        &definition_sync("attribute", "upsert", "{ key = \"key\" }"),
    )
    .await;
    case.write("rows.csv", "key\na\nb\n");
    case
}

/// Runs `command` off the async runtime, which serves the fake.
async fn output(mut command: Command) -> Output {
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn optisync(case: &Case, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_optisync"));
    command
        .current_dir(case.path())
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("OPTISYNC_LOG")
        .stdin(Stdio::null());
    command
}

/// `optisync ARGS` on a pseudo-terminal, its output (stdout and stderr together) captured.
fn on_a_terminal(case: &Case, args: &[&str]) -> Command {
    let line = std::iter::once(env!("CARGO_BIN_EXE_optisync"))
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("script");
    command
        .current_dir(case.path())
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("OPTISYNC_LOG")
        .stdin(Stdio::null());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_to_a_pipe_have_no_colour() {
    let case = case().await;
    for args in [
        ["-vv", "sync"].as_slice(),
        &["-vv", "plan"],
        &["-vv", "check"],
    ] {
        let out = output(optisync(&case, args)).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}\n{stderr}");
        // Logging really was on, so colour would have shown.
        assert!(
            stderr.contains("DEBUG"),
            "{args:?} logged nothing:\n{stderr}"
        );
        assert!(
            !out.stderr.contains(&0x1b),
            "{args:?} wrote an escape byte to a pipe:\n{stderr:?}"
        );
    }
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_gets_colour_unless_no_color_is_set() {
    let case = case().await;
    let out = output(on_a_terminal(&case, &["-vv", "plan"])).await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("DEBUG"), "no log lines:\n{text}");
    assert!(
        has_colour(&out.stdout),
        "no colour on a terminal:\n{text:?}"
    );

    for value in ["1", "true"] {
        let mut command = on_a_terminal(&case, &["-vv", "plan"]);
        command.env("NO_COLOR", value);
        let out = output(command).await;
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("DEBUG"), "no log lines:\n{text}");
        assert!(!has_colour(&out.stdout), "NO_COLOR={value}:\n{text:?}");
    }
    // An empty NO_COLOR does not count (https://no-color.org).
    let mut command = on_a_terminal(&case, &["-vv", "plan"]);
    command.env("NO_COLOR", "");
    let out = output(command).await;
    assert!(has_colour(&out.stdout), "NO_COLOR=\"\" turned colour off");
    case.stop().await;
}

#[test]
fn colour_is_told_from_cursor_movement() {
    assert!(has_colour(b"a \x1b[2mdim\x1b[0m"));
    assert!(has_colour(b"\x1b[1;32mgreen"));
    assert!(!has_colour(b"\x1b[2K\x1b[1A plain"));
    assert!(!has_colour(b"plain"));
}
