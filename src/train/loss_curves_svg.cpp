// loss.svg: training and validation loss against epoch, as plain SVG text (see history.h for why by hand).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "text_file.h"
#include "unmix/train/history.h"

namespace unmix::train {

namespace {

constexpr double kWidth = 800, kHeight = 480;
constexpr double kLeft = 80, kRight = 24, kTop = 44, kBottom = 52;

std::string fmt(const char* format, double a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, a);
  return buf;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

// Ticks at 1, 2 or 5 times a power of ten, about `count` of them across [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = power;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) ticks.push_back(std::abs(t) < 1e-12 * step ? 0.0 : t);
  return ticks;
}

std::string tick_label(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  return (a >= 1e4 || a < 1e-3) ? fmt("%.0e", v) : fmt("%g", v);
}

}  // namespace

std::string loss_curves_svg(const std::vector<EpochRecord>& history, const std::string& title) {
  std::vector<double> values;
  for (const auto& r : history)
    for (double v : {r.train_loss, r.valid_loss})
      if (std::isfinite(v)) values.push_back(v);
  double lo = values.empty() ? 0.0 : *std::min_element(values.begin(), values.end());
  double hi = values.empty() ? 1.0 : *std::max_element(values.begin(), values.end());
  const bool log_scale = lo > 0 && hi / lo > 10;
  if (log_scale) {
    lo = std::floor(std::log10(lo) * 10) / 10;
    hi = std::ceil(std::log10(hi) * 10) / 10;
  } else {
    const double pad = hi > lo ? 0.06 * (hi - lo) : std::max(1e-3, 0.1 * std::abs(hi));
    lo = std::max(values.empty() || lo >= 0 ? 0.0 : -INFINITY, lo - pad);
    hi += pad;
  }
  const double last_epoch = history.empty() ? 1.0 : static_cast<double>(history.back().epoch);
  const double x_lo = 1, x_hi = std::max(2.0, last_epoch);
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double epoch) { return kLeft + (epoch - x_lo) / (x_hi - x_lo) * plot_w; };
  auto py = [&](double loss) {
    const double v = log_scale ? std::log10(loss) : loss;
    return kTop + (1.0 - (v - lo) / (hi - lo)) * plot_h;
  };

  std::string s;
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"800\" height=\"480\" viewBox=\"0 0 800 480\" "
       "font-family=\"sans-serif\" font-size=\"12\">\n";
  s += "<rect width=\"800\" height=\"480\" fill=\"white\"/>\n";
  s += "<text x=\"400\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">" + xml_escape(title) + "</text>\n";
  // grid and axis labels
  for (double t : nice_ticks(x_lo, x_hi, 8)) {
    if (t < x_lo || std::floor(t) != t) continue;
    s += "<line x1=\"" + fmt("%.1f", px(t)) + "\" x2=\"" + fmt("%.1f", px(t)) + "\" y1=\"" + fmt("%.1f", kTop) +
         "\" y2=\"" + fmt("%.1f", kTop + plot_h) + "\" stroke=\"#e4e4e4\"/>\n";
    s += "<text x=\"" + fmt("%.1f", px(t)) + "\" y=\"" + fmt("%.1f", kTop + plot_h + 18) +
         "\" text-anchor=\"middle\">" + fmt("%.0f", t) + "</text>\n";
  }
  std::vector<double> y_ticks;
  if (log_scale) {
    for (double d = std::floor(lo); d <= std::ceil(hi); d += 1)
      for (double m : {1.0, 2.0, 5.0}) {
        const double v = d + std::log10(m);
        if (v >= lo - 1e-9 && v <= hi + 1e-9 && (m == 1.0 || hi - lo < 2.5)) y_ticks.push_back(std::pow(10.0, v));
      }
  } else {
    y_ticks = nice_ticks(lo, hi, 6);
  }
  for (double t : y_ticks) {
    s += "<line x1=\"" + fmt("%.1f", kLeft) + "\" x2=\"" + fmt("%.1f", kLeft + plot_w) + "\" y1=\"" + fmt("%.1f", py(t)) +
         "\" y2=\"" + fmt("%.1f", py(t)) + "\" stroke=\"#e4e4e4\"/>\n";
    s += "<text x=\"" + fmt("%.1f", kLeft - 6) + "\" y=\"" + fmt("%.1f", py(t) + 4) + "\" text-anchor=\"end\">" +
         tick_label(t) + "</text>\n";
  }
  s += "<rect x=\"" + fmt("%.1f", kLeft) + "\" y=\"" + fmt("%.1f", kTop) + "\" width=\"" + fmt("%.1f", plot_w) +
       "\" height=\"" + fmt("%.1f", plot_h) + "\" fill=\"none\" stroke=\"#444\"/>\n";
  s += "<text x=\"" + fmt("%.1f", kLeft + plot_w / 2) + "\" y=\"" + fmt("%.1f", kHeight - 12) +
       "\" text-anchor=\"middle\">epoch</text>\n";
  s += "<text transform=\"translate(18 " + fmt("%.1f", kTop + plot_h / 2) + ") rotate(-90)\" text-anchor=\"middle\">" +
       std::string(log_scale ? "MSE loss (log scale)" : "MSE loss") + "</text>\n";

  // the best epoch
  const EpochRecord* best = nullptr;
  for (const auto& r : history)
    if (r.best) best = &r;
  if (best && std::isfinite(best->valid_loss)) {
    s += "<line x1=\"" + fmt("%.1f", px(static_cast<double>(best->epoch))) + "\" x2=\"" +
         fmt("%.1f", px(static_cast<double>(best->epoch))) + "\" y1=\"" + fmt("%.1f", kTop) + "\" y2=\"" +
         fmt("%.1f", kTop + plot_h) + "\" stroke=\"#2ca02c\" stroke-dasharray=\"4 4\"/>\n";
    s += "<circle cx=\"" + fmt("%.1f", px(static_cast<double>(best->epoch))) + "\" cy=\"" +
         fmt("%.1f", py(best->valid_loss)) + "\" r=\"4\" fill=\"#2ca02c\"/>\n";
  }
  // the curves; a non-finite value breaks the line
  auto curve = [&](double EpochRecord::*member, const char* colour) {
    std::string points;
    auto flush = [&] {
      if (points.empty()) return;
      s += "<polyline fill=\"none\" stroke=\"" + std::string(colour) + "\" stroke-width=\"1.8\" points=\"" + points + "\"/>\n";
      points.clear();
    };
    for (const auto& r : history) {
      const double v = r.*member;
      if (!std::isfinite(v) || (log_scale && v <= 0)) {
        flush();
        continue;
      }
      const double x = px(static_cast<double>(r.epoch)), y = py(v);
      points += fmt("%.1f", x) + "," + fmt("%.1f", y) + " ";
      if (history.size() == 1)
        s += "<circle cx=\"" + fmt("%.1f", x) + "\" cy=\"" + fmt("%.1f", y) + "\" r=\"3\" fill=\"" + colour + "\"/>\n";
    }
    flush();
  };
  curve(&EpochRecord::train_loss, "#1f77b4");
  curve(&EpochRecord::valid_loss, "#ff7f0e");
  // legend
  const double lx = kLeft + plot_w - 262, ly = kTop + 14;
  s += "<rect x=\"" + fmt("%.1f", lx - 8) + "\" y=\"" + fmt("%.1f", ly - 12) +
       "\" width=\"254\" height=\"58\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#bbb\"/>\n";
  const char* names[] = {"training", "validation", "best validation"};
  const char* colours[] = {"#1f77b4", "#ff7f0e", "#2ca02c"};
  for (int i = 0; i < 3; ++i) {
    const double y = ly + 16.0 * i;
    s += "<line x1=\"" + fmt("%.1f", lx) + "\" x2=\"" + fmt("%.1f", lx + 24) + "\" y1=\"" + fmt("%.1f", y - 4) +
         "\" y2=\"" + fmt("%.1f", y - 4) + "\" stroke=\"" + colours[i] + "\" stroke-width=\"2\"" +
         (i == 2 ? " stroke-dasharray=\"4 4\"" : "") + "/>\n";
    std::string label = names[i];
    if (i == 2 && best) label += " (epoch " + std::to_string(best->epoch) + ", " + fmt("%.4g", best->valid_loss) + ")";
    s += "<text x=\"" + fmt("%.1f", lx + 30) + "\" y=\"" + fmt("%.1f", y) + "\">" + xml_escape(label) + "</text>\n";
  }
  s += "</svg>\n";
  return s;
}

void write_loss_curves(const std::filesystem::path& file, const std::vector<EpochRecord>& history,
                       const std::string& title) {
  write_text_atomically(file, loss_curves_svg(history, title));
}

}  // namespace unmix::train
