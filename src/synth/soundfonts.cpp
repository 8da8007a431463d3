// Finding, checking and holding the GM soundfonts.
#include "unmix/synth/soundfonts.h"

#include <fluidsynth.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

#include "unmix/error.h"

namespace unmix::synth {

namespace {

thread_local std::string t_last_fluid_error;

void keep_errors(int level, const char* message, void*) {
  if (level <= FLUID_ERR && message) t_last_fluid_error = message;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool soundfont_extension(const std::filesystem::path& p) {
  const std::string ext = lower(p.extension().string());
  return ext == ".sf2" || ext == ".sf3";
}

bool known_gm_font(const std::string& filename) {
  static const std::array<const char*, 5> prefixes = {"TimGM6mb", "FluidR3_GM", "FluidR3Mono_GM", "MuseScore_General",
                                                      "GeneralUser"};
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const char* p) { return filename.rfind(p, 0) == 0; });
}

}  // namespace

void silence_fluidsynth_log() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int level = FLUID_PANIC; level < LAST_LOG_LEVEL; ++level) fluid_set_log_function(level, keep_errors, nullptr);
  });
}

std::vector<std::filesystem::path> installed_gm_soundfonts() {
  namespace fs = std::filesystem;
  std::set<fs::path> found;
  for (const char* dir : {"/usr/share/sounds/sf2", "/usr/share/sounds/sf3", "/usr/share/soundfonts"}) {
    std::error_code ec;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
      if (!soundfont_extension(entry.path())) continue;
      std::error_code link_ec;
      const fs::path real = fs::canonical(entry.path(), link_ec);  // resolves default-GM.* and alternatives
      if (link_ec || !fs::is_regular_file(real, link_ec) || !soundfont_extension(real)) continue;
      if (known_gm_font(real.filename().string())) found.insert(real);
    }
  }
  std::vector<fs::path> fonts(found.begin(), found.end());
  std::sort(fonts.begin(), fonts.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() != b.filename() ? a.filename() < b.filename() : a < b; });
  return fonts;
}

struct SoundfontSet::Impl {
  struct Font {
    std::filesystem::path path;
    std::string name;
    fluid_settings_t* settings = nullptr;
    fluid_synth_t* synth = nullptr;  // keeps the samples in FluidSynth's cache for the per-stem synths
    std::set<std::pair<int, int>> presets;
  };
  std::vector<Font> fonts;

  ~Impl() {
    for (Font& f : fonts) {
      if (f.synth) delete_fluid_synth(f.synth);
      if (f.settings) delete_fluid_settings(f.settings);
    }
  }
};

SoundfontSet::SoundfontSet(const std::vector<std::filesystem::path>& paths) : impl_(std::make_unique<Impl>()) {
  namespace fs = std::filesystem;
  silence_fluidsynth_log();
  std::set<fs::path> seen;
  std::vector<std::pair<fs::path, fs::path>> unique;  // canonical, as given
  for (const fs::path& given : paths) {
    std::error_code ec;
    if (!fs::exists(given, ec)) fail(given, "no such soundfont file");
    if (fs::is_directory(given, ec)) fail(given, "is a directory, not a soundfont file");
    const fs::path real = fs::canonical(given, ec);
    if (ec) fail(given, "cannot resolve path: " + ec.message());
    if (seen.insert(real).second) unique.emplace_back(real, given);
  }
  std::sort(unique.begin(), unique.end(), [](const auto& a, const auto& b) {
    return a.first.filename() != b.first.filename() ? a.first.filename() < b.first.filename() : a.first < b.first;
  });
  for (const auto& [real, given] : unique)
    if (!fluid_is_soundfont(real.c_str())) fail(given, "not a SoundFont file (expected .sf2 or .sf3 data)");
  impl_->fonts.resize(unique.size());
  for (std::size_t f = 0; f < unique.size(); ++f) {
    Impl::Font& font = impl_->fonts[f];
    font.path = unique[f].first;
    font.name = font.path.filename().string();
    font.settings = new_fluid_settings();
    fluid_settings_setint(font.settings, "synth.reverb.active", 0);
    fluid_settings_setint(font.settings, "synth.chorus.active", 0);
    font.synth = new_fluid_synth(font.settings);
    if (!font.synth) fail(unique[f].second, "cannot create a FluidSynth instance to load it");
  }
  // Decoding compressed .sf3 samples takes seconds per font: load them side by side.
  std::vector<std::string> errors(unique.size());
  std::vector<std::thread> loaders;
  for (std::size_t f = 0; f < unique.size(); ++f)
    loaders.emplace_back([&, f] {
      Impl::Font& font = impl_->fonts[f];
      t_last_fluid_error.clear();
      const int id = fluid_synth_sfload(font.synth, font.path.c_str(), 0);
      if (id == FLUID_FAILED) {
        errors[f] = "FluidSynth cannot load this soundfont" + (t_last_fluid_error.empty() ? std::string() : ": " + t_last_fluid_error);
        return;
      }
      fluid_sfont_t* sfont = fluid_synth_get_sfont_by_id(font.synth, id);
      fluid_sfont_iteration_start(sfont);
      while (fluid_preset_t* preset = fluid_sfont_iteration_next(sfont))
        font.presets.emplace(fluid_preset_get_banknum(preset), fluid_preset_get_num(preset));
      if (font.presets.empty()) errors[f] = "soundfont has no presets";
    });
  for (std::thread& t : loaders) t.join();
  for (std::size_t f = 0; f < unique.size(); ++f)
    if (!errors[f].empty()) fail(unique[f].second, errors[f]);
}

SoundfontSet::~SoundfontSet() = default;

std::size_t SoundfontSet::size() const { return impl_->fonts.size(); }
const std::filesystem::path& SoundfontSet::path(std::size_t font) const { return impl_->fonts.at(font).path; }
const std::string& SoundfontSet::name(std::size_t font) const { return impl_->fonts.at(font).name; }
bool SoundfontSet::has_preset(std::size_t font, int bank, int program) const {
  return impl_->fonts.at(font).presets.count({bank, program}) > 0;
}

}  // namespace unmix::synth
