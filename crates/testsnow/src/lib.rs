//! Starts a local Snowflake emulator for tests and benchmarks: the server mode of the PyPI
//! package `fakesnow` (`fakesnow -s --port PORT`), which speaks Snowflake's REST protocol
//! over plain HTTP on loopback, over an in-memory DuckDB shared by its sessions. It accepts
//! any credentials, answers queries with Arrow row sets and never splits a result into
//! chunks; what it cannot show is covered by the source's unit tests.
//!
//! `scripts/test` installs it into a virtual environment under `/var/tmp/optisync-tools`
//! (`fakesnow[server]` with `snowflake-connector-python<5`, which 5.x breaks); set
//! `OPTISYNC_FAKESNOW_VENV` to use another. Tables are made with [`TestSnowflake::sql`],
//! through Snowflake's own Python connector in that environment.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The default virtual environment `scripts/test` installs fakesnow into.
pub const DEFAULT_VENV: &str = "/var/tmp/optisync-tools/fakesnow-venv";

/// Why the emulator could not start or run SQL.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// fakesnow is not installed where it is looked for.
    #[error(
        "fakesnow is not installed at {0}; run ./scripts/test (it installs it) or set OPTISYNC_FAKESNOW_VENV"
    )]
    NotInstalled(PathBuf),
    /// It did not start, or SQL failed.
    #[error("{what} failed: {detail}\nlog:\n{log}")]
    Failed {
        /// What was being done.
        what: String,
        /// Why.
        detail: String,
        /// The emulator's log, last lines.
        log: String,
    },
}

/// A running emulator, stopped when dropped.
#[derive(Debug)]
pub struct TestSnowflake {
    child: Child,
    port: u16,
    venv: PathBuf,
    dir: tempfile::TempDir,
}

impl TestSnowflake {
    /// Starts an emulator on a free loopback port and waits until it accepts connections.
    pub fn start() -> Result<Self, Error> {
        let venv = std::env::var_os("OPTISYNC_FAKESNOW_VENV")
            .map_or_else(|| PathBuf::from(DEFAULT_VENV), PathBuf::from);
        let program = venv.join("bin").join("fakesnow");
        if !program.exists() {
            return Err(Error::NotInstalled(venv));
        }
        let dir = tempfile::tempdir().map_err(|e| failed("a temporary folder", &e, ""))?;
        let port = free_port().map_err(|e| failed("finding a free port", &e, ""))?;
        let log = std::fs::File::create(dir.path().join("log"))
            .map_err(|e| failed("the log file", &e, ""))?;
        let err = log
            .try_clone()
            .map_err(|e| failed("the log file", &e, ""))?;
        // fakesnow makes a folder for its stages in the system's temporary folder when it
        // starts and never removes it: it goes into the emulator's own folder instead, which
        // is removed with it.
        let child = Command::new(&program)
            .args(["-s", "--port", &port.to_string()])
            .current_dir(dir.path())
            .env("TMPDIR", dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .map_err(|e| failed("starting fakesnow", &e, ""))?;
        let mut emulator = Self {
            child,
            port,
            venv,
            dir,
        };
        emulator.wait_ready()?;
        Ok(emulator)
    }

    /// Waits until the port accepts a connection (the server is listening), or the process
    /// exits, or a minute passes (a hung start).
    fn wait_ready(&mut self) -> Result<(), Error> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(failed("starting fakesnow", &status, &self.log()));
            }
            if Instant::now() > deadline {
                return Err(failed(
                    "starting fakesnow",
                    &"not listening after 60 s",
                    &self.log(),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The emulator's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`, the `url` a config gives to reach it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Runs `statements`, one after the other, through Snowflake's Python connector, and
    /// returns the rows of the last one, a line per row, cells separated by tabs.
    pub fn sql(&self, statements: &[&str]) -> Result<String, Error> {
        let script = format!(
            "import json, sys, snowflake.connector\n\
             c = snowflake.connector.connect(user='test', password='test', account='test', host='127.0.0.1', port={port}, protocol='http')\n\
             cur = c.cursor()\n\
             rows = []\n\
             for s in json.loads(sys.argv[1]):\n    rows = cur.execute(s).fetchall()\n\
             print('\\n'.join('\\t'.join('' if v is None else str(v) for v in r) for r in rows))\n",
            port = self.port
        );
        let statements = format!(
            "[{}]",
            statements
                .iter()
                .map(|s| json_string(s))
                .collect::<Vec<_>>()
                .join(",")
        );
        let output = Command::new(self.venv.join("bin").join("python"))
            .args(["-c", &script, &statements])
            .output()
            .map_err(|e| failed("running SQL", &e, &self.log()))?;
        if !output.status.success() {
            return Err(failed(
                "running SQL",
                &String::from_utf8_lossy(&output.stderr),
                &self.log(),
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    /// The python of the emulator's environment, with Snowflake's connector, for benchmarks.
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }

    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for TestSnowflake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn failed(what: &str, detail: &dyn std::fmt::Display, log: &str) -> Error {
    Error::Failed {
        what: what.to_owned(),
        detail: detail.to_string(),
        log: log.to_owned(),
    }
}

/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
