//! The token never leaks: every verb, including failing ones and `-vvv` trace logging, runs
//! with a recognisable token, and the token must appear nowhere it writes: stdout, stderr,
//! `state.db` (and its journal files), plan files, run JSON. Plus the other rules of
//! docs/PRODUCT-RULES.md#security: plain http to a remote host is refused, the state directory and
//! files are owner-only, and a token file readable by others draws a warning from `check`.
//! A secret written in the config itself (a token, a warehouse URL, credentials in `api_url`)
//! is refused by every verb with a message naming its place, never its value; a secret file
//! must be a small regular file, so a FIFO or `/dev/zero` is an error, not a hang.

#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{Case, FX, TOKEN, WEB, definition_sync, list_sync};

/// The token's secret part: what must never be written anywhere.
fn secret() -> &'static str {
    TOKEN.split_once(':').map_or(TOKEN, |(_, s)| s)
}

fn assert_clean(what: &str, text: &str) {
    assert!(
        !text.contains(secret()),
        "the token leaked into {what}:\n{text}"
    );
}

/// Every file under `dir` except the token file itself.
fn assert_files_clean(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            assert_files_clean(&path);
        } else if path.file_name().is_some_and(|n| n != "token") {
            let bytes = std::fs::read(&path).unwrap();
            assert_clean(
                &path.display().to_string(),
                &String::from_utf8_lossy(&bytes),
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_appears_nowhere() {
    let syncs = format!(
        "{}\n{}",
        list_sync("mirror"),
        definition_sync("attribute", "upsert", "{ key = \"key\" }")
            .replace("\"defs\"", "\"attrs\"")
    );
    let case = Case::new(WEB, "", &syncs).await;
    case.write("users.csv", "user_id\nu1\nu2\n");
    case.write("rows.csv", "key,name,about\ngood,A,a\nbad/key!,B,b\n");
    let mut outputs = Vec::new();
    for args in [
        vec!["-vvv", "validate"],
        vec!["-vvv", "check"],
        vec!["-vvv", "plan", "--out", "plan.json"],
        vec!["-vvv", "--output", "json", "plan"],
        vec!["-vvv", "sync", "--plan", "plan.json"],
        vec!["-vvv", "--log-format", "json", "sync"],
        vec!["-vvv", "--output", "json", "status"],
        vec!["-vvv", "--output", "json", "runs"],
        vec!["-vvv", "reset", "members", "--yes"],
    ] {
        outputs.push((args.join(" "), case.run(&args).await));
    }
    let runs: serde_json::Value =
        serde_json::from_slice(&case.run(&["--output", "json", "runs"]).await.stdout).unwrap();
    let run_id = runs["runs"][0]["run_id"]
        .as_str()
        .or_else(|| runs[0]["run_id"].as_str())
        .unwrap_or_default()
        .to_owned();
    outputs.push((
        "runs show".to_owned(),
        case.run(&["-vvv", "--output", "json", "runs", "show", &run_id])
            .await,
    ));

    // Failures: the API refuses the token, and a sync that does not exist.
    std::fs::write(
        case.path().join("token"),
        "2:someone-elses-token-abcdefghijklmnop",
    )
    .unwrap();
    outputs.push(("sync (401)".to_owned(), case.run(&["-vvv", "sync"]).await));
    std::fs::write(case.path().join("token"), TOKEN).unwrap();
    outputs.push((
        "sync nope".to_owned(),
        case.run(&["-vvv", "sync", "nope"]).await,
    ));

    for (what, out) in &outputs {
        assert_clean(
            &format!("stdout of {what}"),
            &String::from_utf8_lossy(&out.stdout),
        );
        assert_clean(
            &format!("stderr of {what}"),
            &String::from_utf8_lossy(&out.stderr),
        );
    }
    // Trace logging really was on, so the test would have seen a leak there.
    let (what, sync) = &outputs[4];
    assert!(
        String::from_utf8_lossy(&sync.stderr).contains("TRACE"),
        "{what} logged no trace lines"
    );
    assert_files_clean(case.path());
    case.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_owner_only_and_a_readable_token_file_is_flagged() {
    let case = Case::new(WEB, "", &list_sync("mirror")).await;
    case.write("users.csv", "user_id\nu1\n");
    case.expect(&["sync"], 0).await;
    let state = case.path().join(".optisync");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700, "state directory");
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(
            mode(&path) & 0o077,
            0,
            "{} is readable by others",
            path.display()
        );
    }

    let token = case.path().join("token");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = case.expect(&["check"], 0).await;
    assert!(!out.contains("readable by"), "{out}");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = case.expect(&["check"], 0).await;
    assert!(out.contains("chmod 600"), "{out}");
    case.stop().await;

    // Plain http to a host that is not this machine would send the token in clear.
    let case = Case::new(FX, "", "").await;
    let config = std::fs::read_to_string(case.path().join("optisync.toml")).unwrap();
    let remote = config.replace("http://127.0.0.1", "http://api.example.com");
    std::fs::write(case.path().join("optisync.toml"), remote).unwrap();
    let out = case.expect(&["check"], 3).await;
    assert!(out.contains("plain http to a remote host"), "{out}");
    case.stop().await;
}

/// A password that must never be printed.
const PASSWORD: &str = "pgPassw0rdNeverShown";

/// One config that writes a secret where it does not belong, and the place the message must
/// name instead of it.
struct Misplaced {
    what: &'static str,
    /// Replaces `token = { file = "token" }` in the case's config.
    token: String,
    /// Replaces the `api_url = "…"` line (empty: kept).
    api_url: String,
    /// Appended `[source]` table (empty: none).
    source: String,
    secret: &'static str,
    place: &'static str,
}

fn misplaced() -> Vec<Misplaced> {
    let token = |what, line: String| Misplaced {
        what,
        token: line,
        api_url: String::new(),
        source: String::new(),
        secret: secret(),
        place: "[optimizely] token",
    };
    let url = |what, line: String| Misplaced {
        what,
        token: "token = { file = \"token\" }".to_owned(),
        api_url: String::new(),
        source: format!("[source]\ntype = \"postgres\"\n{line}\n"),
        secret: PASSWORD,
        place: "[source] url",
    };
    let api_url = |what, value: String| Misplaced {
        what,
        token: "token = { file = \"token\" }".to_owned(),
        api_url: format!("api_url = \"{value}\""),
        source: String::new(),
        secret: PASSWORD,
        place: "[optimizely] api_url",
    };
    let pg = format!("postgres://warehouse:{PASSWORD}@127.0.0.1:9/wh");
    vec![
        token("token pasted", format!("token = \"{TOKEN}\"")),
        token(
            "token in a value table",
            format!("token = {{ value = \"{TOKEN}\" }}"),
        ),
        token(
            "token as the env name",
            format!("token = {{ env = \"{TOKEN}\" }}"),
        ),
        token(
            "token as the file path",
            format!("token = {{ file = \"{TOKEN}\" }}"),
        ),
        token(
            "token as env and file",
            format!("token = {{ env = \"T\", file = \"{TOKEN}\" }}"),
        ),
        token("token unquoted", format!("token = {TOKEN}")),
        url("url pasted", format!("url = \"{pg}\"")),
        url(
            "url in a value table",
            format!("url = {{ value = \"{pg}\" }}"),
        ),
        url("url as the env name", format!("url = {{ env = \"{pg}\" }}")),
        url(
            "url as the file path",
            format!("url = {{ file = \"{pg}\" }}"),
        ),
        api_url(
            "api_url with credentials, plain http to a remote host",
            format!("http://user:{PASSWORD}@10.0.0.5/v2"),
        ),
        api_url(
            "api_url with credentials and a query",
            format!("https://user:{PASSWORD}@api.example.com/v2?page=1"),
        ),
        api_url(
            "api_url with credentials, no /v2",
            format!("https://user:{PASSWORD}@api.example.com"),
        ),
        api_url(
            "api_url with credentials that does not parse",
            format!("https://user:{PASSWORD}@api.exa mple.com/v2"),
        ),
        api_url(
            "api_url with a password only",
            format!("https://:{PASSWORD}@api.example.com/v2#x"),
        ),
    ]
}

/// Every verb that reads the config refuses each misplaced secret with exit 3, naming where it
/// is and never what it is: not in the TOML snippet, not in serde's "unknown variant", not in
/// a URL check that fails before the credentials check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_config_error_shows_a_secret() {
    let case = Case::new(
        FX,
        "",
        &definition_sync("attribute", "upsert", "{ key = \"key\" }"),
    )
    .await;
    case.write("rows.csv", "key\ngood\n");
    let config = std::fs::read_to_string(case.path().join("optisync.toml")).unwrap();
    let api_url_line = config
        .lines()
        .find(|l| l.starts_with("api_url"))
        .unwrap()
        .to_owned();
    let mut failures = Vec::new();
    for shape in misplaced() {
        let mut text = config.replace("token = { file = \"token\" }", &shape.token);
        if !shape.api_url.is_empty() {
            text = text.replace(&api_url_line, &shape.api_url);
        }
        text.push_str(&format!("\n{}", shape.source));
        assert!(
            text.contains(shape.secret),
            "{}: no secret written",
            shape.what
        );
        case.write("optisync.toml", &text);
        for verb in ["validate", "check", "plan", "sync"] {
            let out = case.run(&["-vvv", verb]).await;
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let mut problems = Vec::new();
            if out.status.code() != Some(3) {
                problems.push(format!("exit {:?}, expected 3", out.status.code()));
            }
            if stdout.contains(shape.secret) || stderr.contains(shape.secret) {
                problems.push("the secret was printed".to_owned());
            }
            if !stderr.contains(shape.place) {
                problems.push(format!("the message does not name {}", shape.place));
            }
            if !problems.is_empty() {
                failures.push(format!(
                    "{} / {verb}: {}\n{stdout}{stderr}",
                    shape.what,
                    problems.join("; ")
                ));
            }
        }
    }
    assert_eq!(case.writes(), 0, "a refused config sent a write");
    case.stop().await;
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A URL read from a file is a secret too: when it does not parse or the server cannot be
/// reached, the message names `[source] url` or the server, never the password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_url_from_a_file_is_never_shown() {
    let case = Case::new(
        FX,
        "",
        &definition_sync("attribute", "upsert", "{ key = \"key\" }"),
    )
    .await;
    let config = std::fs::read_to_string(case.path().join("optisync.toml")).unwrap();
    case.write(
        "optisync.toml",
        &format!("{config}\n[source]\ntype = \"postgres\"\nurl = {{ file = \"pgurl\" }}\nsslmode = \"disable\"\n"),
    );
    for url in [
        format!("postgres://warehouse:{PASSWORD}@127.0.0.1:9/wh"),
        format!("postgres://warehouse:{PASSWORD}@127.0.0.1:notaport/wh"),
        format!("postgres://warehouse:{PASSWORD}@127.0.0.1:9/wh?sslmode=bogus"),
    ] {
        case.write("pgurl", &url);
        for verb in ["validate", "check", "plan", "sync"] {
            let out = case.run(&["-vvv", verb]).await;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                matches!(out.status.code(), Some(3 | 4)),
                "{url} / {verb}: exit {:?}\n{text}",
                out.status.code()
            );
            assert!(
                !text.contains(PASSWORD),
                "{url} / {verb} printed it:\n{text}"
            );
        }
    }
    case.stop().await;
}

/// Runs `optisync ARGS` and waits for it, failing (not hanging) if it has not ended within a
/// minute: a secret file that blocks the read must not block the test too.
async fn run_bounded(case: &Case, args: &[&str]) -> std::process::Output {
    let mut child = case.spawn(args);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!(
                "optisync {args:?} still ran after a minute\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A token or warehouse URL file is read only if it is a regular file (symlinks followed) of
/// at most 64 KiB: a FIFO with no writer, a link to `/dev/zero`, a folder or a huge file is a
/// config error naming the file, not a hang or an endless read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_files_must_be_small_regular_files() {
    let case = Case::new(
        FX,
        "",
        &definition_sync("attribute", "upsert", "{ key = \"key\" }"),
    )
    .await;
    case.write("rows.csv", "key\ngood\n");
    let config = std::fs::read_to_string(case.path().join("optisync.toml")).unwrap();
    let fifo = case.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo failed");
    std::os::unix::fs::symlink("/dev/zero", case.path().join("zero")).unwrap();
    std::fs::create_dir(case.path().join("folder")).unwrap();
    case.write("huge", &"a".repeat(64 * 1024 + 1));
    case.write("pgurl", "postgres://u:p@127.0.0.1:9/wh");
    for (file, kind) in [
        ("fifo", "is a FIFO (named pipe), not a regular file"),
        ("zero", "is a character device, not a regular file"),
        ("folder", "is a folder, not a regular file"),
        ("huge", "is larger than 64 KiB"),
    ] {
        // The token, for the verbs that talk to Optimizely.
        case.write(
            "optisync.toml",
            &config.replace("{ file = \"token\" }", &format!("{{ file = \"{file}\" }}")),
        );
        for verb in ["check", "plan", "sync"] {
            let out = run_bounded(&case, &[verb]).await;
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(
                out.status.code(),
                Some(3),
                "token {file} / {verb}\n{stderr}"
            );
            // The path is not a secret: the message names it, relative to the config.
            let expected = format!("[optimizely] token: the secret file {file} {kind}");
            assert!(
                stderr.contains(&expected),
                "token {file} / {verb}: wanted {expected:?}\n{stderr}"
            );
        }
        // The warehouse URL, for the verb that only reads the warehouse.
        case.write(
            "optisync.toml",
            &format!("{config}\n[source]\ntype = \"postgres\"\nurl = {{ file = \"{file}\" }}\n"),
        );
        let out = run_bounded(&case, &["validate"]).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "url {file}\n{stderr}");
        let expected = format!("[source] url: the secret file {file} {kind}");
        assert!(
            stderr.contains(&expected),
            "url {file}: wanted {expected:?}\n{stderr}"
        );
    }
    assert_eq!(case.writes(), 0);
    case.stop().await;
}
