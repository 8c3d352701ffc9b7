//! `runs/<run>/figures/robustness.png`: UAR per condition (mean over folds),
//! as recorded first.

use std::path::{Path, PathBuf};

use store::runs::RobustnessRow;

use crate::report::figures::run_title;
use crate::report::grid;
use crate::report::plot::{caption, save_png, text_width, PlotResult};
use crate::train::RunConfig;

/// Draws the fold-mean rows of `rows`.
pub(super) fn draw(run_dir: &Path, cfg: &RunConfig, rows: &[RobustnessRow]) -> PlotResult<PathBuf> {
    let pooled: Vec<&RobustnessRow> = rows.iter().filter(|r| r.fold.is_none()).collect();
    let names: Vec<String> = pooled.iter().map(|r| r.condition.clone()).collect();
    let counts: Vec<i64> = pooled.iter().map(|r| r.clips).collect();
    let scores = [
        (
            "UAR",
            pooled.iter().map(|r| 100.0 * r.uar).collect::<Vec<_>>(),
        ),
        (
            "accuracy",
            pooled.iter().map(|r| 100.0 * r.accuracy).collect(),
        ),
    ];
    let path = run_dir.join("figures").join("robustness.png");
    let title = run_title(cfg);
    let width = (200 + 70 * names.len() as u32).max(text_width(&title, 20) + 80);
    save_png(&path, (width, 680), |root| {
        let (head, body) = root.split_vertically(grid::HEADING);
        caption(
            &head,
            &title,
            "Each fold's model on its own test clips, as recorded and under each condition (mean over folds)",
        )?;
        grid::class_bars(
            &body,
            &names,
            &counts,
            &scores,
            "condition (n = test clips)",
        )
    })
}
