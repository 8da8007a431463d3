#pragma once
// The General MIDI soundfonts a corpus is rendered with.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace unmix::synth {

// Every known GM soundfont installed under the usual Debian directories (/usr/share/sounds/sf2,
// /usr/share/sounds/sf3, /usr/share/soundfonts): TimGM6mb, FluidR3_GM, FluidR3Mono_GM, MuseScore_General,
// GeneralUser, and default-GM links to them. Links are resolved; each file appears once, sorted.
std::vector<std::filesystem::path> installed_gm_soundfonts();

class SoundfontSet {
 public:
  // Loads every file once (a missing, unreadable or non-soundfont file is an Error naming it). The same
  // file reached through two paths counts once. Fonts are ordered by file name, so the order of the
  // arguments does not change the corpus. The loaded fonts stay in memory: FluidSynth shares their
  // samples with every synth that loads the same file later, so per-stem synths start quickly.
  explicit SoundfontSet(const std::vector<std::filesystem::path>& paths);
  ~SoundfontSet();
  SoundfontSet(const SoundfontSet&) = delete;
  SoundfontSet& operator=(const SoundfontSet&) = delete;

  std::size_t size() const;
  const std::filesystem::path& path(std::size_t font) const;  // canonical
  const std::string& name(std::size_t font) const;            // file name, e.g. "TimGM6mb.sf2"
  bool has_preset(std::size_t font, int bank, int program) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Routes FluidSynth's own log lines away from stderr (they are noise next to the progress line);
// errors are reported through unmix::Error instead. Safe to call more than once.
void silence_fluidsynth_log();

}  // namespace unmix::synth
