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

/// A drawing error as one line a user can act on. plotters-bitmap's error
/// prints as its `Debug` form (`backend error: Drawing backend error:
/// IOError(Os { code: 28, kind: StorageFull, message: "No space left on
/// device" })`) and its type is not re-exported, so the I/O message is
/// taken from that text when there is one.
pub(crate) fn err<E: std::fmt::Display>(e: E) -> String {
    let text = e.to_string();
    for key in ["message: \"", "error: \""] {
        if let Some(rest) = text.split(key).nth(1) {
            if let Some(msg) = rest.split('"').next() {
                return msg.to_string();
            }
        }
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
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
    result
        .map(|_| path.to_path_buf())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Width in pixels of `text` in the embedded font at `size` (an estimate
/// of 0.6 em per character if the font cannot measure it).
pub fn text_width(text: &str, size: u32) -> u32 {
    register_font();
    font(size)
        .font
        .box_size(text)
        .map(|(w, _)| w)
        .unwrap_or((size as f64 * 0.6 * text.chars().count() as f64) as u32)
}

/// A text style of the embedded font.
pub fn font(size: u32) -> TextStyle<'static> {
    (SANS, size).into_font().color(&BLACK)
}

/// A figure's heading: `title` over a smaller `subtitle`, centred in `area`.
pub fn caption(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    subtitle: &str,
) -> PlotResult {
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    let (w, h) = area.dim_in_pixel();
    let centre = Pos::new(HPos::Center, VPos::Center);
    let (x, y) = (w as i32 / 2, h as i32 / 2);
    area.draw(&Text::new(
        title.to_string(),
        (x, y - 11),
        font(20).pos(centre),
    ))
    .map_err(err)?;
    area.draw(&Text::new(
        subtitle.to_string(),
        (x, y + 14),
        font(15).color(&BLACK.mix(0.75)).pos(centre),
    ))
    .map_err(err)
}

/// Distinct series colours (colour-blind safe: Okabe-Ito).
pub const SERIES: [RGBColor; 4] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
];

/// Tick label of an integer axis (epochs, coefficients): `10`, not `10.0`;
/// positions between integers get no label.
pub fn integer_tick(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        String::new()
    }
}

/// Tick label of a value axis: at most 3 decimals, no trailing zeros
/// (`55`, `2.25`, not `55.0`).
pub fn short_number(v: &f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.into()
    }
}

/// Height in pixels of the legend strip under a panel with several series.
pub const LEGEND_STRIP: u32 = 34;

/// Splits a panel into the chart and, when there is more than one series,
/// a legend strip below it: the legend never covers a curve.
pub fn legend_split<'a>(
    area: &DrawingArea<BitMapBackend<'a>, Shift>,
    n_series: usize,
) -> (
    DrawingArea<BitMapBackend<'a>, Shift>,
    Option<DrawingArea<BitMapBackend<'a>, Shift>>,
) {
    if n_series < 2 {
        return (area.clone(), None);
    }
    let h = area.dim_in_pixel().1 as i32;
    let (chart, strip) = area.split_vertically(h - LEGEND_STRIP as i32);
    (chart, Some(strip))
}

/// Draws swatches and names in a row, centred in `strip`.
pub(crate) fn legend_row(
    strip: &DrawingArea<BitMapBackend<'_>, Shift>,
    names: &[&str],
) -> PlotResult {
    let style = font(15);
    let widths: Vec<i32> = names
        .iter()
        .map(|n| {
            strip
                .estimate_text_size(n, &style)
                .map(|(w, _)| w as i32)
                .unwrap_or(8 * n.len() as i32)
        })
        .collect();
    let item = |w: i32| 28 + w + 24; // swatch, gap, name, spacing
    let total: i32 = widths.iter().map(|&w| item(w)).sum();
    let (sw, sh) = strip.dim_in_pixel();
    let mut x = ((sw as i32 - total) / 2).max(4);
    let y = sh as i32 / 2;
    for (i, (name, w)) in names.iter().zip(&widths).enumerate() {
        let c = SERIES[i % SERIES.len()];
        strip
            .draw(&PathElement::new(
                vec![(x, y), (x + 22, y)],
                c.stroke_width(3),
            ))
            .map_err(err)?;
        strip
            .draw(&Text::new(name.to_string(), (x + 28, y - 8), style.clone()))
            .map_err(err)?;
        x += item(*w);
    }
    Ok(())
}

/// A line panel: named series of (x, y) points, titled, with axis labels.
/// With more than one series the legend goes in a strip under the chart.
/// When every x is a whole number (epochs, coefficients), x ticks are
/// labelled as integers.
pub fn lines(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    (x_label, y_label): (&str, &str),
    series: &[(&str, Vec<(f64, f64)>)],
) -> PlotResult {
    let pts = series.iter().flat_map(|(_, s)| s.iter());
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    let mut integer_x = true;
    for &(x, y) in pts {
        x0 = x0.min(x);
        x1 = x1.max(x);
        y0 = y0.min(y);
        y1 = y1.max(y);
        integer_x &= x.fract() == 0.0;
    }
    if x0 > x1 {
        return Err(format!("{title}: nothing to plot"));
    }
    let pad = ((y1 - y0) * 0.05).max(1e-6);
    let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
    let (chart_area, strip) = legend_split(area, series.len());
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(title, font(22))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
        .map_err(err)?;
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(x_label)
        .y_desc(y_label)
        .label_style(font(14))
        .axis_desc_style(font(16))
        .light_line_style(WHITE.mix(0.0));
    mesh.y_label_formatter(&short_number);
    if integer_x {
        // At most ~10 ticks, each on a whole number.
        let span = (x1 - x0).round() as usize + 1;
        mesh.x_labels(span.min(11)).x_label_formatter(&integer_tick);
    }
    mesh.draw().map_err(err)?;
    for (i, (_, pts)) in series.iter().enumerate() {
        let c = SERIES[i % SERIES.len()];
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), c.stroke_width(2)))
            .map_err(err)?;
    }
    if let Some(strip) = strip {
        let names: Vec<&str> = series.iter().map(|(n, _)| *n).collect();
        legend_row(&strip, &names)?;
    }
    Ok(())
}

/// The axes of a [`heatmap`]: how long a column is and where the time
/// axis ends (panels that share `x_max` line up), and the labelled ticks
/// of the row axis (row position, label: e.g. a band at a round Hz value).
pub struct HeatAxes<'a> {
    /// (x, y) axis descriptions.
    pub labels: (&'a str, &'a str),
    /// Seconds (x units) per column.
    pub x_scale: f64,
    /// End of the x axis (at least the data's own end).
    pub x_max: f64,
    /// Row-axis ticks: position in rows and its label.
    pub y_ticks: &'a [(f64, String)],
}

/// A heat map of `values` (`[cols][rows]`, column-major: one column per
/// time frame) in viridis, with a colour bar labelled `unit` on the right.
pub fn heatmap(
    area: &DrawingArea<BitMapBackend<'_>, Shift>,
    title: &str,
    axes: &HeatAxes<'_>,
    values: &[Vec<f32>],
    unit: &str,
    (lo, hi): (f32, f32),
) -> PlotResult {
    let ((x_label, y_label), x_scale) = (axes.labels, axes.x_scale);

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
        .build_cartesian_2d(0.0..axes.x_max.max(cols as f64 * x_scale), 0.0..rows as f64)
        .map_err(err)?;
    // The row axis gets the caller's ticks (round values), drawn by hand:
    // the mesh draws the axis line and its description only.
    chart
        .configure_mesh()
        .disable_mesh()
        .y_labels(0)
        .x_desc(x_label)
        .y_desc(y_label)
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
    let label = font(14).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Right,
        plotters::style::text_anchor::VPos::Center,
    ));
    chart
        .draw_series(axes.y_ticks.iter().map(|(row, text)| {
            EmptyElement::at((0.0, *row))
                + PathElement::new(vec![(0, 0), (-5, 0)], BLACK)
                + Text::new(text.clone(), (-8, 0), label.clone())
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
        .y_label_formatter(&short_number)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regression_a_full_disk_is_one_line_naming_the_cause() {
        let io = std::io::Error::from_raw_os_error(28);
        let debug_like = format!("backend error: Drawing backend error: IOError({io:?})");
        assert_eq!(err(debug_like), "No space left on device");
        assert_eq!(err("a\n  b"), "a b");
    }

    #[test]
    fn regression_epoch_ticks_are_integers() {
        assert_eq!(integer_tick(&10.0), "10");
        assert_eq!(integer_tick(&1.0), "1");
        assert_eq!(integer_tick(&2.5), "", "no label between epochs");
    }

    #[test]
    fn regression_legend_sits_under_the_chart_not_on_the_curves() {
        let mut buf = vec![0u8; 600 * 400 * 3];
        let root = BitMapBackend::with_buffer(&mut buf, (600, 400)).into_drawing_area();
        let (chart, strip) = legend_split(&root, 2);
        let strip = strip.expect("two series get a legend strip");
        let (_, chart_y) = chart.get_pixel_range();
        let (_, strip_y) = strip.get_pixel_range();
        assert!(
            chart_y.end <= strip_y.start,
            "{chart_y:?} overlaps {strip_y:?}"
        );
        assert_eq!((strip_y.end - strip_y.start) as u32, LEGEND_STRIP);
        assert!(legend_split(&root, 1).1.is_none(), "one series: no legend");
        // A whole panel draws with its legend in the strip.
        register_font();
        let series = [
            ("train", vec![(1.0, 0.0), (10.0, 1.0)]),
            ("test", vec![(1.0, 1.0), (10.0, 0.0)]),
        ];
        lines(&root, "t", ("epoch", "accuracy"), &series).unwrap();
    }
}
