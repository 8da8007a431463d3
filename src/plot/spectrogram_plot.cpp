// Spectrogram panels with cairo: the pixels come from our own STFT (unmix/stft.h) in dB, the axes, labels
// and colour bar are cairo text and lines, so a PNG and an SVG show the same figure.
#include "unmix/plot/spectrogram_plot.h"

#include <cairo-svg.h>
#include <cairo.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>

#include "unmix/error.h"
#include "unmix/stft.h"

namespace unmix::plot {

namespace {

namespace fs = std::filesystem;

// The "inferno" colour map at nine points, interpolated linearly (perceptually ordered, prints in grey).
constexpr std::array<std::array<double, 3>, 9> kInferno = {{{0.001, 0.000, 0.014},
                                                            {0.122, 0.047, 0.283},
                                                            {0.316, 0.071, 0.485},
                                                            {0.499, 0.125, 0.507},
                                                            {0.676, 0.206, 0.459},
                                                            {0.846, 0.303, 0.354},
                                                            {0.966, 0.452, 0.208},
                                                            {0.988, 0.677, 0.110},
                                                            {0.988, 0.998, 0.645}}};

std::array<unsigned char, 3> colour(double v) {  // v in [0, 1]
  v = std::clamp(v, 0.0, 1.0) * (kInferno.size() - 1);
  const auto i = std::min<std::size_t>(static_cast<std::size_t>(v), kInferno.size() - 2);
  const double f = v - static_cast<double>(i);
  std::array<unsigned char, 3> rgb{};
  for (int c = 0; c < 3; ++c)
    rgb[c] = static_cast<unsigned char>(std::lround(255.0 * ((1 - f) * kInferno[i][c] + f * kInferno[i + 1][c])));
  return rgb;
}

// Power spectrogram in dB, [frames][bins], channels averaged.
struct Spectrogram {
  int frames = 0, bins = 0;
  double seconds_per_frame = 0, hz_per_bin = 0, seconds = 0;
  std::vector<float> db;
  float loudest = -300;
};

Spectrogram spectrogram(const Audio& a, const SpectrogramOptions& o) {
  if (a.frames <= o.nfft / 2) fail("spectrogram", "audio too short to plot");
  Stft stft(o.nfft, o.hop);
  const ComplexSpectrogram spec = stft.forward(a.samples.data(), a.channels, a.frames, true);
  Spectrogram s;
  s.frames = spec.frames;
  s.bins = spec.bins;
  s.seconds_per_frame = static_cast<double>(o.hop) / a.sample_rate;
  s.hz_per_bin = static_cast<double>(a.sample_rate) / o.nfft;
  s.seconds = static_cast<double>(a.frames) / a.sample_rate;
  s.db.resize(static_cast<std::size_t>(s.frames) * s.bins);
  for (int t = 0; t < s.frames; ++t)
    for (int f = 0; f < s.bins; ++f) {
      double power = 0;
      for (int c = 0; c < spec.channels; ++c) power += std::norm(spec.frame(c, t)[f]);
      const auto v = static_cast<float>(10.0 * std::log10(power / spec.channels + 1e-20));
      s.db[static_cast<std::size_t>(t) * s.bins + f] = v;
      s.loudest = std::max(s.loudest, v);
    }
  return s;
}

struct Layout {
  double left = 70, right = 90, top = 24, bottom = 44, gap = 30, title = 0;
};

void text(cairo_t* cr, double x, double y, const std::string& s, double size, double align_x = 0, double align_y = 0) {
  cairo_set_font_size(cr, size);
  cairo_text_extents_t e;
  cairo_text_extents(cr, s.c_str(), &e);
  cairo_move_to(cr, x - align_x * e.width - e.x_bearing, y - align_y * e.height - e.y_bearing);
  cairo_show_text(cr, s.c_str());
}

std::string hz_label(double hz) {
  if (hz >= 1000) return std::to_string(static_cast<int>(hz / 1000)) + "k";
  return std::to_string(static_cast<int>(hz));
}

void draw(cairo_t* cr, const std::vector<std::string>& titles, const std::vector<Spectrogram>& specs,
          const SpectrogramOptions& o, double width, const Layout& L) {
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  float loudest = -300;
  double seconds = 0;
  for (const auto& s : specs) loudest = std::max(loudest, s.loudest), seconds = std::max(seconds, s.seconds);
  const double floor_db = loudest - o.range_db;
  const int plot_w = static_cast<int>(width - L.left - L.right);
  const int plot_h = o.panel_height;
  const double log_lo = std::log(o.min_hz), log_hi = std::log(o.max_hz);
  cairo_set_source_rgb(cr, 0, 0, 0);
  if (!o.title.empty()) text(cr, width / 2, 8, o.title, 15, 0.5, 0);
  for (std::size_t p = 0; p < titles.size(); ++p) {
    const Spectrogram& s = specs[p];
    const double y0 = L.top + L.title + static_cast<double>(p) * (plot_h + L.gap);
    // the panel's pixels: each column the loudest frame it covers, each row the loudest bin in its band
    cairo_surface_t* image = cairo_image_surface_create(CAIRO_FORMAT_RGB24, plot_w, plot_h);
    cairo_surface_flush(image);
    unsigned char* data = cairo_image_surface_get_data(image);
    const int stride = cairo_image_surface_get_stride(image);
    for (int x = 0; x < plot_w; ++x) {
      const double t0 = seconds * x / plot_w, t1 = seconds * (x + 1) / plot_w;
      const int f0 = std::clamp(static_cast<int>(t0 / s.seconds_per_frame), 0, s.frames - 1);
      const int f1 = std::clamp(static_cast<int>(t1 / s.seconds_per_frame), f0, s.frames - 1);
      for (int y = 0; y < plot_h; ++y) {
        const double hz_hi = std::exp(log_hi - (log_hi - log_lo) * y / plot_h);
        const double hz_lo = std::exp(log_hi - (log_hi - log_lo) * (y + 1) / plot_h);
        const int b0 = std::clamp(static_cast<int>(std::floor(hz_lo / s.hz_per_bin)), 0, s.bins - 1);
        const int b1 = std::clamp(static_cast<int>(std::ceil(hz_hi / s.hz_per_bin)), b0, s.bins - 1);
        float v = -300;
        const bool beyond = t0 >= s.seconds;
        if (!beyond)
          for (int t = f0; t <= f1; ++t)
            for (int b = b0; b <= b1; ++b) v = std::max(v, s.db[static_cast<std::size_t>(t) * s.bins + b]);
        const auto rgb = beyond ? std::array<unsigned char, 3>{255, 255, 255} : colour((v - floor_db) / o.range_db);
        unsigned char* px = data + static_cast<std::ptrdiff_t>(y) * stride + 4 * x;
        px[0] = rgb[2], px[1] = rgb[1], px[2] = rgb[0], px[3] = 255;  // cairo's RGB24 is native-endian BGRx
      }
    }
    cairo_surface_mark_dirty(image);
    cairo_set_source_surface(cr, image, L.left, y0);
    cairo_paint(cr);
    cairo_surface_destroy(image);
    // frame, title, frequency ticks
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, L.left, y0, plot_w, plot_h);
    cairo_stroke(cr);
    text(cr, L.left, y0 - 4, titles[p], 13, 0, 1);
    for (double hz : {50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0}) {
      if (hz < o.min_hz || hz > o.max_hz) continue;
      const double y = y0 + plot_h * (log_hi - std::log(hz)) / (log_hi - log_lo);
      cairo_move_to(cr, L.left - 5, y);
      cairo_line_to(cr, L.left, y);
      cairo_stroke(cr);
      text(cr, L.left - 8, y, hz_label(hz), 11, 1, 0.5);
    }
    text(cr, 6, y0 + plot_h / 2.0, "Hz", 12, 0, 0.5);
  }
  // time axis under the last panel
  const double y_axis = L.top + L.title + static_cast<double>(titles.size()) * (plot_h + L.gap) - L.gap;
  const double step = seconds > 120 ? 30 : seconds > 40 ? 10 : seconds > 10 ? 2 : seconds > 3 ? 0.5 : 0.1;
  for (double t = 0; t <= seconds + 1e-9; t += step) {
    const double x = L.left + plot_w * t / seconds;
    cairo_move_to(cr, x, y_axis);
    cairo_line_to(cr, x, y_axis + 5);
    cairo_stroke(cr);
    char label[32];
    std::snprintf(label, sizeof label, step < 1 ? "%.1f" : "%.0f", t);
    text(cr, x, y_axis + 8, label, 11, 0.5, 0);
  }
  text(cr, L.left + plot_w / 2.0, y_axis + 24, "time (s)", 12, 0.5, 0);
  // colour bar
  const double bar_x = width - L.right + 20, bar_y = L.top + L.title, bar_h = y_axis - bar_y;
  for (int i = 0; i < 200; ++i) {
    const auto rgb = colour(1.0 - i / 199.0);
    cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
    cairo_rectangle(cr, bar_x, bar_y + bar_h * i / 200.0, 14, bar_h / 200.0 + 0.5);
    cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0, 0, 0);
  for (int d = 0; d <= static_cast<int>(o.range_db); d += 20) {
    const double y = bar_y + bar_h * d / o.range_db;
    text(cr, bar_x + 18, y, std::to_string(-d) + " dB", 10, 0, 0.5);
  }
}

}  // namespace

namespace {

void check_options(const fs::path& out, const SpectrogramOptions& o) {
  if (o.width < 300 || o.panel_height < 40 || !(o.min_hz > 0 && o.max_hz > o.min_hz) || !(o.range_db > 0))
    fail(out, "bad plot size or ranges");
  std::string ext = out.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (ext != ".png" && ext != ".svg") fail(out, "plots are written as .png or .svg");
}

void render(const fs::path& out, const std::vector<std::string>& titles, const std::vector<Spectrogram>& specs,
            const SpectrogramOptions& o) {
  std::string ext = out.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  Layout L;
  if (!o.title.empty()) L.title = 24;
  const double width = o.width;
  const double height = L.top + L.title + static_cast<double>(titles.size()) * (o.panel_height + L.gap) - L.gap + L.bottom;
  AtomicFile file(out);
  cairo_surface_t* surface =
      ext == ".png" ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, static_cast<int>(width), static_cast<int>(height))
                    : cairo_svg_surface_create(file.temp_path().c_str(), width, height);
  cairo_t* cr = cairo_create(surface);
  draw(cr, titles, specs, o, width, L);
  cairo_destroy(cr);
  cairo_status_t status = cairo_surface_status(surface);
  if (status == CAIRO_STATUS_SUCCESS && ext == ".png") status = cairo_surface_write_to_png(surface, file.temp_path().c_str());
  cairo_surface_finish(surface);
  if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface);
  cairo_surface_destroy(surface);
  if (status != CAIRO_STATUS_SUCCESS) fail(out, std::string("cannot draw the plot: ") + cairo_status_to_string(status));
  file.commit();
}

// A file's spectrogram reduced to `columns` time columns (each the loudest of the frames it covers, as
// the drawing does), computed while the file is read forward, so memory stays at columns x bins whatever
// its length. Frames are centred on multiples of the hop, zero-padded beyond the ends.
Spectrogram column_spectrogram(const SpectrogramFile& file, const SpectrogramOptions& o, int columns) {
  const std::int64_t frames_in = count_frames(file.path, file.start_seconds, file.duration_seconds);
  AudioReader reader(file.path, file.start_seconds, file.duration_seconds);
  const int C = reader.channels(), rate = reader.sample_rate();
  if (frames_in <= o.nfft / 2) fail(file.path, "audio too short to plot");
  Spectrogram s;
  s.bins = o.nfft / 2 + 1;
  s.frames = columns;
  s.seconds = static_cast<double>(frames_in) / rate;
  // a hair over seconds / columns, so column x covers frame x only
  s.seconds_per_frame = s.seconds / columns * (1 + 1e-9);
  s.hz_per_bin = static_cast<double>(rate) / o.nfft;
  s.db.assign(static_cast<std::size_t>(columns) * s.bins, -300.f);
  const Stft stft(o.nfft, o.hop);
  const std::int64_t hop = o.hop, half = o.nfft / 2;
  const std::int64_t stft_frames = frames_in / hop + 1;  // centred frames, as Stft::forward(center = true)
  constexpr std::int64_t kFramesPerBlock = 256;
  // samples [begin, begin + have) of the zero-padded signal (position q is sample q - half)
  std::vector<std::vector<float>> buf(static_cast<std::size_t>(C));
  std::int64_t begin = 0, have = 0, read_pos = 0;  // read_pos: next signal sample to read
  std::vector<float> block, segment;
  for (int c = 0; c < C; ++c) buf[c].assign(static_cast<std::size_t>(half), 0.f);
  have = half;
  for (std::int64_t t0 = 0; t0 < stft_frames; t0 += kFramesPerBlock) {
    const std::int64_t n = std::min(kFramesPerBlock, stft_frames - t0);
    const std::int64_t lo = t0 * hop, hi = (t0 + n - 1) * hop + o.nfft;  // padded positions needed
    // drop what is no longer needed, read up to hi
    const std::int64_t drop = lo - begin;
    for (auto& b : buf) b.erase(b.begin(), b.begin() + drop);
    begin = lo;
    have -= drop;
    while (begin + have < hi) {
      const std::int64_t want = hi - (begin + have);
      std::int64_t got = 0;
      if (read_pos < frames_in) {
        block.resize(static_cast<std::size_t>(C) * static_cast<std::size_t>(want));
        got = reader.read(block.data(), std::min(want, frames_in - read_pos), want);
        read_pos += got;
      }
      if (got <= 0) {
        for (auto& b : buf) b.insert(b.end(), static_cast<std::size_t>(want), 0.f);
        have += want;
      } else {
        for (int c = 0; c < C; ++c) buf[c].insert(buf[c].end(), block.data() + static_cast<std::size_t>(c) * want,
                                                  block.data() + static_cast<std::size_t>(c) * want + got);
        have += got;
      }
    }
    const std::int64_t length = hi - lo;
    segment.resize(static_cast<std::size_t>(C) * static_cast<std::size_t>(length));
    for (int c = 0; c < C; ++c) std::copy_n(buf[c].data(), length, segment.data() + static_cast<std::size_t>(c) * length);
    const ComplexSpectrogram spec = stft.forward(segment.data(), C, length, false);
    for (int t = 0; t < spec.frames; ++t) {
      const double at = static_cast<double>((t0 + t) * hop) / rate;
      const int x = std::clamp(static_cast<int>(at / s.seconds_per_frame), 0, columns - 1);
      float* col = s.db.data() + static_cast<std::size_t>(x) * s.bins;
      for (int f = 0; f < s.bins; ++f) {
        double power = 0;
        for (int c = 0; c < C; ++c) power += std::norm(spec.frame(c, t)[f]);
        const auto v = static_cast<float>(10.0 * std::log10(power / C + 1e-20));
        col[f] = std::max(col[f], v);
        s.loudest = std::max(s.loudest, v);
      }
    }
  }
  return s;
}

}  // namespace

void write_spectrogram_plot(const fs::path& out, std::span<const SpectrogramPanel> panels, const SpectrogramOptions& o) {
  if (panels.empty()) fail(out, "nothing to plot");
  check_options(out, o);
  std::vector<Spectrogram> specs;
  std::vector<std::string> titles;
  for (const auto& p : panels) {
    if (!p.audio) fail(out, "a panel has no audio");
    specs.push_back(spectrogram(*p.audio, o));
    titles.push_back(p.title);
  }
  render(out, titles, specs, o);
}

void write_spectrogram_plot(const fs::path& out, std::span<const SpectrogramFile> files, const SpectrogramOptions& o) {
  if (files.empty()) fail(out, "nothing to plot");
  check_options(out, o);
  const int columns = o.width - static_cast<int>(Layout{}.left + Layout{}.right);
  std::vector<Spectrogram> specs;
  std::vector<std::string> titles;
  for (const auto& f : files) {
    specs.push_back(column_spectrogram(f, o, columns));
    titles.push_back(f.title);
  }
  render(out, titles, specs, o);
}

}  // namespace unmix::plot
