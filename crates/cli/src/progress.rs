//! Progress bars on a terminal. The engine reports the progress of its long steps as typed
//! events (`optisync_engine::progress::ProgressEvent`); on a terminal [`Bars::observe`] draws
//! them as a bar (a spinner while the total is unknown) and takes the bar down when the step
//! finishes, and log lines printed meanwhile go above the bar. Without a terminal the
//! engine's progress log lines, a few seconds apart, are all there is.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use optisync_engine::progress::ProgressEvent;
use tracing_subscriber::fmt::MakeWriter;

/// The bar being shown, if any, keyed by sync and step.
#[derive(Debug, Clone, Default)]
pub struct Bars {
    shown: Arc<Mutex<Option<Shown>>>,
}

#[derive(Debug)]
struct Shown {
    key: (String, String),
    bar: ProgressBar,
}

impl Bars {
    fn with_shown<T>(&self, f: impl FnOnce(&mut Option<Shown>) -> T) -> T {
        // A panic while drawing leaves nothing half-changed that matters.
        let mut shown = self.shown.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut shown)
    }

    /// Takes the bar down (at the end of the program, whatever happened).
    pub fn clear(&self) {
        self.with_shown(|shown| {
            if let Some(old) = shown.take() {
                old.bar.finish_and_clear();
            }
        });
    }

    /// Draws the engine's progress events from now on.
    pub fn observe(&self) {
        let bars = self.clone();
        optisync_engine::progress::observe(move |event| bars.update(event));
    }

    fn update(&self, update: &ProgressEvent) {
        let key = (update.sync.clone(), update.step.to_owned());
        self.with_shown(|shown| {
            if update.finished {
                if shown.as_ref().is_some_and(|s| s.key == key)
                    && let Some(old) = shown.take()
                {
                    old.bar.finish_and_clear();
                }
                return;
            }
            if shown.as_ref().is_none_or(|s| s.key != key) {
                if let Some(old) = shown.take() {
                    old.bar.finish_and_clear();
                }
                *shown = Some(Shown {
                    key: key.clone(),
                    bar: new_bar(update),
                });
            }
            if let Some(shown) = shown {
                if let Some(total) = update.total {
                    shown.bar.set_length(total);
                }
                shown.bar.set_position(update.done);
            }
        });
    }

    /// Runs `write` with the bar hidden, so a log line never lands inside it.
    fn suspend<T>(&self, write: impl FnOnce() -> T) -> T {
        let bar = self.with_shown(|shown| shown.as_ref().map(|s| s.bar.clone()));
        match bar {
            Some(bar) => bar.suspend(write),
            None => write(),
        }
    }
}

fn new_bar(update: &ProgressEvent) -> ProgressBar {
    let (bar, template) = match update.total {
        Some(total) => (
            ProgressBar::new(total),
            "{prefix}: {msg} [{bar:30}] {human_pos}/{human_len} {unit} ({eta} left)",
        ),
        None => (
            ProgressBar::new_spinner(),
            "{spinner} {prefix}: {msg}: {human_pos} {unit} ({elapsed})",
        ),
    };
    let template = template.replace("{unit}", update.unit);
    let style = ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let bar = bar
        .with_style(style)
        .with_prefix(update.sync.clone())
        .with_message(update.step);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// stderr for log lines, written with the progress bar hidden.
#[derive(Debug, Clone)]
pub struct BarAwareStderr {
    bars: Bars,
}

impl BarAwareStderr {
    /// A writer that hides `bars` while it writes.
    pub fn new(bars: Bars) -> Self {
        Self { bars }
    }
}

impl Write for BarAwareStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bars
            .suspend(|| std::io::stderr().write_all(buf))
            .map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for BarAwareStderr {
    type Writer = BarAwareStderr;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(step: &'static str, done: u64, total: Option<u64>, finished: bool) -> ProgressEvent {
        ProgressEvent {
            sync: "members".to_owned(),
            step,
            unit: "rows",
            done,
            total,
            finished,
        }
    }

    fn shown(bars: &Bars) -> Option<(String, u64, Option<u64>)> {
        bars.with_shown(|s| {
            s.as_ref()
                .map(|s| (s.key.1.clone(), s.bar.position(), s.bar.length()))
        })
    }

    #[test]
    fn a_bar_follows_its_step_and_goes_when_it_finishes() {
        let bars = Bars::default();
        bars.update(&update("reading model", 4096, None, false));
        assert_eq!(shown(&bars), Some(("reading model".to_owned(), 4096, None)));
        bars.update(&update("sending changes", 3, Some(10), false));
        assert_eq!(
            shown(&bars),
            Some(("sending changes".to_owned(), 3, Some(10)))
        );
        // The end of another step leaves this bar alone.
        bars.update(&update("reading model", 0, None, true));
        assert!(shown(&bars).is_some());
        bars.update(&update("sending changes", 10, None, true));
        assert_eq!(shown(&bars), None);
        assert_eq!(bars.suspend(|| 7), 7);
    }
}
