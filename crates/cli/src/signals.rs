//! SIGTERM and SIGINT. A `sync` stops at its next safe point on the first signal (the engine's
//! [`optisync_engine::interrupt`]: everything sent so far has its outcome recorded, the run is
//! recorded as interrupted, and the process exits 143 for SIGTERM or 130 for SIGINT). A second
//! signal stops at once, like a kill: the next run settles the write that was in flight.
//! The other verbs send nothing, so the first signal ends them at once with the same codes.

use optisync_engine::interrupt;

use crate::exit::Exit;

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// The exit code for a stop asked by `signal`.
pub fn exit_for(signal: i32) -> Exit {
    if signal == SIGTERM {
        Exit::Terminated
    } else {
        Exit::Interrupted
    }
}

/// Starts listening for SIGTERM and SIGINT on the current runtime. `safe_stop`: the verb
/// checks [`interrupt::requested`] at its safe points (only `sync`); otherwise the first
/// signal ends the process.
pub fn install(safe_stop: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::warn!("cannot listen for SIGTERM and SIGINT; they will stop optisync at once");
        return;
    };
    tokio::spawn(async move {
        let first = tokio::select! {
            _ = term.recv() => SIGTERM,
            _ = int.recv() => SIGINT,
        };
        if !safe_stop {
            exit_now(first);
        }
        tracing::warn!(
            "stopping at the next safe point (after the request in flight); send the signal \
             again to stop at once"
        );
        interrupt::request(first);
        let second = tokio::select! {
            _ = term.recv() => SIGTERM,
            _ = int.recv() => SIGINT,
        };
        tracing::warn!("stopping at once: the next run settles the request that was in flight");
        exit_now(second);
    });
}

fn exit_now(signal: i32) -> ! {
    crate::stdout::flush();
    std::process::exit(i32::from(exit_for(signal).code()))
}
