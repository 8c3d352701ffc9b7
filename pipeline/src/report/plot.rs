//! Drawing helpers over plotters: an embedded font (no fontconfig, no
//! system fonts), atomic PNG output, line panels, heat maps with a colour
//! bar, and grouped bars.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::colors::colormaps::ViridisRGB;

/// Figures use DejaVu Sans, compiled in (see `assets/DejaVuSans-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The family name figures ask for.
pub const SANS: &str = "sans-serif";

/// Why a figure could not be drawn.
pub type PlotResult<T = ()> = Result<T, String>;

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a valid TTF checked in with the source; a failure
        // here shows up as a drawing error naming the font.
        let _ = plotters::style::register_font(SANS, FontStyle::Normal, FONT);
    });
}

/// Draws a `w` x `h` PNG at `path` through a temp file and a rename, so a
/// reader never sees half a figure.
pub fn save_png(
    path: &Path,
    (w, h): (u32, u32),
    draw: impl FnOnce(&DrawingArea<BitMapBackend<'_>, Shift>) -> PlotResult,
) -> PlotResult<PathBuf> {
    register_font();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let tmp = store::atomic::temp_path_for(path);
    let result = (|| {
        {
            let root = BitMapBackend::new(&tmp, (w, h)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            draw(&root)?;
            root.present().map_err(err)?;
        }
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        store::atomic::rename_durable(&tmp, path).map_err(|e| e.to_string())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|_| path.to_path_buf())
}

/// A text style of the embedded font.
pub fn font(size: u32) -> TextStyle<'static> {
    (SANS, size).into_font().color(&BLACK)
}

/// Distinct series colours (colour-blind safe: Okabe-Ito).
pub const SERIES: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];

/// A line panel: named series of (x, y) points, titled, with axis labels.
pub fn lines(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[(&str, Vec<(f64, f64)>)],
) -> PlotResult {
    let pts = series.iter().flat_map(|(_, s)| s.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
    }
    if x0 > x1 {
        return Err(format!("{title}: nothing to plot"));
    }
    let pad = ((y1 - y0) * 0.05).max(1e-6);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(title, font(22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(font(14))
        .axis_desc_style(font(16))
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let c = SERIES[i % SERIES.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
    }
    if series.len() > 1 {
        chart
            .configure_series_labels()
            .label_font(font(15))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// A heat map of `values` (`[cols][rows]`, column-major: one column per
/// time frame) in viridis, with a colour bar labelled `unit` on the right.
/// `y_tick` formats a row index as an axis label (e.g. band -> Hz).
#[allow(clippy::too_many_arguments)]
pub fn heatmap(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    (x_label, y_label): (&str, &str),
    values: &[Vec<f32>],
    x_scale: f64,
    y_tick: &dyn Fn(&f64) -> String,
    unit: &str,
    (lo, hi): (f32, f32),
) -> PlotResult {
    let (main, bar) = area.split_horizontally(area.dim_in_pixel().0 as i32 - 110);
    let cols = values.len();
    let rows = values.first().map_or(0, Vec::len);
    if cols == 0 || rows == 0 {
        return Err(format!("{title}: nothing to plot"));
    }
    let span = (hi - lo).max(1e-6);
    let mut chart = ChartBuilder::on(&main)
        .caption(title, font(20))
        .margin(10)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(0.0..cols as f64 * x_scale, 0.0..rows as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .y_label_formatter(y_tick)
        .label_style(font(14))
        .axis_desc_style(font(16))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(values.iter().enumerate().flat_map(|(c, col)| {
            col.iter().enumerate().map(move |(r, &v)| {
                let x = c as f64 * x_scale;
                Rectangle::new(
                    [(x, r as f64), (x + x_scale, r as f64 + 1.0)],
                    ViridisRGB::get_color(((v - lo) / span).clamp(0.0, 1.0)).filled(),
                )
            })
        }))
        .map_err(err)?;
    colour_bar(&bar, unit, (lo, hi))
}

fn colour_bar(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    unit: &str,
    (lo, hi): (f32, f32),
) -> PlotResult {
    let mut chart = ChartBuilder::on(area)
        .margin_top(45)
        .margin_bottom(55)
        .margin_right(10)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..1.0, lo as f64..hi as f64)
        .map_err(err)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_desc(unit)
        .label_style(font(13))
        .axis_desc_style(font(14))
        .draw()
        .map_err(err)?;
    let steps = 100;
    let span = (hi - lo) as f64 / steps as f64;
    chart
        .draw_series((0..steps).map(|i| {
            let v = lo as f64 + i as f64 * span;
            Rectangle::new(
                [(0.0, v), (1.0, v + span)],
                ViridisRGB::get_color(i as f32 / steps as f32).filled(),
            )
        }))
        .map_err(err)?;
    Ok(())
}
