// Composition: genre, tempo, key, form, chords, the band and its mix, all drawn from (seed, song index).
#include <algorithm>
#include <cmath>
#include <string>

#include "unmix/error.h"
#include "unmix/synth/random.h"
#include "unmix/synth/song_plan.h"
#include "unmix/synth/soundfonts.h"

namespace unmix::synth {

namespace {

struct Genre {
  const char* name;   // MedleyDB genre label
  const char* style;  // finer: what the arrangement follows
  double weight;      // how often an artist plays it
  double bpm_lo, bpm_hi;
  double minor_probability, waltz_probability, swing_probability;
  double guitar_weights[3];  // acoustic, clean, distorted
  std::vector<Pattern> grooves;
  std::vector<Pattern> bass_patterns;
  std::vector<int> bass_programs;
  std::vector<int> keys_programs;
  double keys_probability;
  std::vector<int> pad_programs;
  double pad_probability;
  std::vector<int> lead_programs;  // repeated entries weigh more; 52-54 and 85 are the sung-like voices
  double lead_probability;
  double drums_probability;
  std::vector<int> kits;
  bool sevenths;
  // guitars
  double second_guitar_probability;  // another rhythm part of its own
  double double_track_probability;   // the rhythm part recorded twice and panned hard apart
  double lead_guitar_probability;    // a lead line and a solo on top
  double riff_probability;           // a distorted rhythm part plays the song's riff in verses and bridges
  std::vector<std::pair<Tuning, double>> tunings;  // with weights; empty: standard
};

constexpr Tuning kStandard{"standard", 0, 0}, kDropD{"drop D", 0, -2}, kDStandard{"D standard", -2, 0},
    kDropC{"drop C", -2, -2}, kCStandard{"C standard", -4, 0}, kBStandard{"B standard", -5, 0};

const std::vector<Genre>& genres() {
  using P = Pattern;
  static const std::vector<Genre> all = {
      {"Rock", "rock", 0.2, 96, 152, 0.45, 0.0, 0.05, {0.2, 0.3, 0.5}, {P::DrumsRock, P::DrumsRock, P::DrumsHalfTime},
       {P::BassRoots, P::BassRootFifth, P::BassSyncopated}, {33, 34}, {0, 16, 18}, 0.5, {48, 89}, 0.35,
       {53, 52, 85, 54, 53, 85, 80, 81, 56, 65, 40, 22}, 0.85, 0.97, {0, 8, 16}, false, 0.45, 0.35, 0.35, 0.3,
       {{kStandard, 0.85}, {kDropD, 0.15}}},
      {"Rock", "hard rock", 0.17, 100, 160, 0.5, 0.0, 0.05, {0.05, 0.15, 0.8},
       {P::DrumsHardRock, P::DrumsRock, P::DrumsHardRock, P::DrumsHalfTime}, {P::BassRoots, P::BassRoots, P::BassOctaves},
       {33, 34}, {18, 16}, 0.3, {48, 89}, 0.15, {53, 85, 52, 53, 85, 54, 81}, 0.9, 1.0, {0, 8, 16}, false, 0.3, 0.65,
       0.65, 0.55, {{kStandard, 0.5}, {kDropD, 0.3}, {kDStandard, 0.2}}},
      {"Rock", "metal", 0.17, 90, 200, 0.9, 0.03, 0.0, {0.0, 0.05, 0.95}, {P::DrumsMetal, P::DrumsMetal, P::DrumsHardRock},
       {P::BassRoots, P::BassRoots}, {34, 33}, {18, 16}, 0.1, {48, 52, 89}, 0.3, {85, 53, 52, 85, 54}, 0.85, 1.0,
       {16, 0, 8}, false, 0.25, 0.75, 0.6, 0.85,
       {{kDropD, 0.25}, {kDStandard, 0.15}, {kDropC, 0.25}, {kCStandard, 0.15}, {kBStandard, 0.2}}},
      {"Pop", "pop", 0.15, 88, 128, 0.35, 0.05, 0.05, {0.4, 0.45, 0.15}, {P::DrumsPop, P::DrumsRock, P::DrumsFourOnTheFloor},
       {P::BassRootFifth, P::BassSyncopated, P::BassRoots, P::BassOctaves}, {33, 34, 38}, {0, 1, 4, 5}, 0.75,
       {48, 49, 88, 89, 94}, 0.55, {53, 52, 54, 85, 53, 73, 65, 80, 71, 64, 56}, 0.9, 0.95, {0, 8, 24}, false, 0.45, 0.2,
       0.2, 0.0, {}},
      {"Singer/Songwriter", "singer-songwriter", 0.1, 68, 124, 0.4, 0.25, 0.1, {0.8, 0.2, 0.0},
       {P::DrumsBallad, P::DrumsRock}, {P::BassRootFifth, P::BassWhole}, {33, 35, 32}, {0, 1, 4}, 0.6, {48, 49, 89}, 0.5,
       {53, 52, 53, 73, 71, 40, 22, 68}, 0.85, 0.7, {0, 40, 8}, false, 0.45, 0.25, 0.1, 0.0, {}},
      {"Electronic/Fusion", "electronic", 0.06, 100, 128, 0.6, 0.0, 0.0, {0.1, 0.6, 0.3},
       {P::DrumsFourOnTheFloor, P::DrumsPop}, {P::BassOctaves, P::BassSyncopated, P::BassRoots}, {38, 39, 33}, {4, 5, 90},
       0.6, {88, 89, 90, 94, 50}, 0.85, {80, 81, 64, 73, 54}, 0.85, 1.0, {24, 25}, false, 0.45, 0.1, 0.15, 0.0, {}},
      {"Jazz", "jazz", 0.05, 92, 170, 0.35, 0.1, 1.0, {0.25, 0.75, 0.0}, {P::DrumsSwing}, {P::BassWalking}, {32, 33},
       {0, 4}, 0.85, {48}, 0.2, {65, 66, 56, 73, 71}, 0.9, 0.95, {32, 40}, true, 0.45, 0.0, 0.1, 0.0, {}},
      {"World/Folk", "folk", 0.1, 80, 136, 0.45, 0.3, 0.15, {0.85, 0.15, 0.0}, {P::DrumsBallad, P::DrumsRock},
       {P::BassRootFifth, P::BassWhole}, {32, 33}, {0, 16}, 0.3, {48, 49}, 0.4, {53, 52, 73, 40, 22, 71, 68}, 0.85, 0.6,
       {0, 40}, false, 0.45, 0.2, 0.05, 0.0, {}},
  };
  return all;
}

// Chord progressions as scale degrees (0 = tonic), four chords that repeat.
const std::vector<std::vector<int>>& progressions(Mode mode) {
  static const std::vector<std::vector<int>> major = {{0, 4, 5, 3}, {0, 3, 4, 3}, {5, 3, 0, 4}, {0, 5, 3, 4},
                                                      {0, 3, 0, 4}, {1, 4, 0, 0}, {0, 4, 3, 3}, {3, 0, 4, 5},
                                                      {0, 2, 3, 4}, {3, 4, 0, 5}};
  static const std::vector<std::vector<int>> minor = {{0, 5, 2, 6}, {0, 3, 4, 0}, {0, 6, 5, 6}, {0, 3, 6, 2},
                                                      {0, 5, 3, 4}, {0, 2, 6, 3}, {5, 6, 0, 0}, {0, 3, 0, 4}};
  return mode == Mode::Major ? major : minor;
}

constexpr std::uint64_t kSongTag = 0x50a6, kPartTag = 0x9a27, kFontTag = 0xf047, kArtistGenreTag = 0x6e7e,
                        kMasterTag = 0x3a57, kEffectsTag = 0xeff5;

struct Activity {
  double intro, verse, chorus, bridge, outro;
  double at(SectionKind kind) const {
    switch (kind) {
      case SectionKind::Intro: return intro;
      case SectionKind::Verse: return verse;
      case SectionKind::Chorus: return chorus;
      case SectionKind::Bridge: return bridge;
      case SectionKind::Outro: return outro;
    }
    return 0;
  }
};

std::vector<Section> song_form(Rng& rng, int bars) {
  std::vector<Section> sections;
  auto add = [&](SectionKind kind, int length) {
    const int first = sections.empty() ? 0 : sections.back().first_bar + sections.back().bars;
    length = std::min(length, bars - first);
    if (length <= 0) return;
    double intensity = 0.6;
    switch (kind) {
      case SectionKind::Intro: intensity = 0.45; break;
      case SectionKind::Verse: intensity = 0.6; break;
      case SectionKind::Chorus: intensity = 0.85; break;
      case SectionKind::Bridge: intensity = 0.7; break;
      case SectionKind::Outro: intensity = 0.5; break;
    }
    sections.push_back({kind, first, length, std::clamp(intensity + rng.uniform(-0.05, 0.05), 0.0, 1.0)});
  };
  const int unit = bars >= 32 ? 8 : 4;
  const int intro = bars >= 12 ? (rng.chance(0.5) ? 2 : 4) : (bars >= 6 ? 2 : 0);
  const int outro = bars >= 12 ? (rng.chance(0.5) ? 2 : 4) : (bars >= 8 ? 2 : 0);
  add(SectionKind::Intro, intro);
  const SectionKind cycle[] = {SectionKind::Verse,  SectionKind::Chorus, SectionKind::Verse,
                               SectionKind::Chorus, SectionKind::Bridge, SectionKind::Chorus};
  const int middle_end = bars - outro;
  for (std::size_t i = 0; sections.empty() || sections.back().first_bar + sections.back().bars < middle_end; ++i) {
    const SectionKind kind = i < std::size(cycle) ? cycle[i] : (i % 2 ? SectionKind::Chorus : SectionKind::Verse);
    const int first = sections.empty() ? 0 : sections.back().first_bar + sections.back().bars;
    const int length = kind == SectionKind::Bridge && rng.chance(0.5) ? unit / 2 : unit;
    add(kind, std::min(length, middle_end - first));
  }
  add(SectionKind::Outro, outro);
  return sections;
}

std::vector<ChordSpan> song_chords(Rng& rng, const SongPlan& plan, bool sevenths) {
  const auto& table = progressions(plan.mode);
  const std::vector<int> verse = rng.pick(table), chorus = rng.pick(table), bridge = rng.pick(table);
  const bool raised_dominant = plan.mode == Mode::Minor && rng.chance(0.5);
  double bars_per_chord = 1;
  const double r = rng.uniform();
  if (r < 0.2) bars_per_chord = 2;
  else if (r < 0.35 && plan.bpm < 110 && plan.beats_per_bar == 4) bars_per_chord = 0.5;

  auto chord_of = [&](int degree) {
    Chord chord = diatonic_chord(plan.key, plan.mode, degree, sevenths);
    if (raised_dominant && degree == 4) chord = with_major_third(chord);
    return chord;
  };
  std::vector<ChordSpan> spans;
  const double chord_beats = bars_per_chord * plan.beats_per_bar;
  for (const Section& section : plan.sections) {
    const std::vector<int>& degrees =
        section.kind == SectionKind::Chorus ? chorus : section.kind == SectionKind::Bridge ? bridge : verse;
    const double begin = section.first_bar * plan.beats_per_bar;
    const double end = (section.first_bar + section.bars) * plan.beats_per_bar;
    int n = 0;
    for (double beat = begin; beat < end - 1e-9; beat += chord_beats, ++n)
      spans.push_back({beat, std::min(chord_beats, end - beat), chord_of(degrees[n % degrees.size()])});
  }
  // Songs end at home.
  if (!spans.empty()) spans.back().chord = chord_of(0);
  return spans;
}

double kind_weight(const Genre& genre, GuitarKind kind) { return genre.guitar_weights[static_cast<int>(kind)]; }

GuitarKind draw_guitar_kind(Rng& rng, const Genre& genre, const std::vector<GuitarKind>& allowed) {
  std::vector<double> weights;
  for (GuitarKind kind : allowed) weights.push_back(kind_weight(genre, kind));
  if (std::all_of(weights.begin(), weights.end(), [](double w) { return w <= 0; }))
    std::fill(weights.begin(), weights.end(), 1.0);
  return allowed[rng.weighted(weights)];
}

Pattern draw(Rng& rng, std::initializer_list<std::pair<Pattern, double>> choices) {
  std::vector<double> weights;
  for (const auto& c : choices) weights.push_back(c.second);
  return (choices.begin() + static_cast<std::ptrdiff_t>(rng.weighted(weights)))->first;
}

Pattern guitar_pattern(Rng& rng, GuitarKind kind, SectionKind section, double riff_probability) {
  using P = Pattern;
  if (kind == GuitarKind::DistortedElectric && section != SectionKind::Chorus && rng.chance(riff_probability))
    return P::GuitarRiff;
  switch (kind) {
    case GuitarKind::Acoustic:
      if (section == SectionKind::Chorus) return draw(rng, {{P::GuitarStrum, 0.8}, {P::GuitarArpeggio, 0.2}});
      if (section == SectionKind::Verse)
        return draw(rng, {{P::GuitarStrum, 0.5}, {P::GuitarArpeggio, 0.4}, {P::GuitarPick, 0.1}});
      return draw(rng, {{P::GuitarArpeggio, 0.5}, {P::GuitarStrum, 0.35}, {P::GuitarPick, 0.15}});
    case GuitarKind::CleanElectric:
      if (section == SectionKind::Chorus)
        return draw(rng, {{P::GuitarStrum, 0.5}, {P::GuitarArpeggio, 0.3}, {P::GuitarPick, 0.2}});
      return draw(rng, {{P::GuitarArpeggio, 0.4}, {P::GuitarPick, 0.3}, {P::GuitarStrum, 0.3}});
    case GuitarKind::DistortedElectric:
      if (section == SectionKind::Chorus) return draw(rng, {{P::GuitarPowerChords, 0.7}, {P::GuitarStrum, 0.3}});
      if (section == SectionKind::Verse)
        return draw(rng, {{P::GuitarPowerChords, 0.6}, {P::GuitarPick, 0.25}, {P::GuitarStrum, 0.15}});
      return draw(rng, {{P::GuitarPick, 0.5}, {P::GuitarPowerChords, 0.5}});
  }
  return P::GuitarStrum;
}

std::size_t draw_font(Rng& rng, const SoundfontSet& fonts, const Instrument& instrument) {
  std::vector<std::size_t> candidates;
  for (std::size_t f = 0; f < fonts.size(); ++f)
    if (fonts.has_preset(f, instrument.bank, instrument.program)) candidates.push_back(f);
  if (candidates.empty()) return fonts.size();
  return rng.pick(candidates);
}

StemMix draw_mix(Rng& rng, Role role, GuitarKind kind) {
  StemMix mix;
  double reverb_probability = 0.85, chorus_probability = 0.25;
  int send_lo = 20, send_hi = 70;
  switch (role) {
    case Role::Guitar:
      mix.level_db = rng.uniform(-3, 2);
      if (kind == GuitarKind::CleanElectric) chorus_probability = 0.5;
      if (kind == GuitarKind::DistortedElectric) chorus_probability = 0.1;
      break;
    case Role::Bass:
      mix.level_db = rng.uniform(-3, 0);
      reverb_probability = 0.4, chorus_probability = 0.05, send_lo = 0, send_hi = 25;
      break;
    case Role::Drums:
      mix.level_db = rng.uniform(-1, 2);
      reverb_probability = 0.7, chorus_probability = 0.0, send_lo = 10, send_hi = 50;
      break;
    case Role::Keys: mix.level_db = rng.uniform(-6, -2); break;
    case Role::Pad:
      mix.level_db = rng.uniform(-9, -4);
      chorus_probability = 0.5, send_lo = 40, send_hi = 100;
      break;
    case Role::Lead: mix.level_db = rng.uniform(-3, 0.5), send_lo = 30, send_hi = 80; break;
  }
  mix.reverb = rng.chance(reverb_probability);
  if (mix.reverb) {
    mix.reverb_room_size = rng.uniform(0.2, 0.85);
    mix.reverb_damping = rng.uniform(0.1, 0.7);
    mix.reverb_width = rng.uniform(0.4, 1.0);
    mix.reverb_level = rng.uniform(0.3, 0.9);
    mix.reverb_send = rng.integer(send_lo, send_hi);
  }
  mix.chorus = rng.chance(chorus_probability);
  if (mix.chorus) {
    mix.chorus_voices = 3;
    mix.chorus_level = rng.uniform(1.0, 3.0);
    mix.chorus_speed_hz = rng.uniform(0.2, 1.0);
    mix.chorus_depth_ms = rng.uniform(3.0, 12.0);
    mix.chorus_send = rng.integer(20, 80);
  }
  return mix;
}

// Turns sections on (verse and chorus first, then the longest) until the part plays in at least
// `min_share` of the song's bars.
void ensure_playing(Part& part, const std::vector<Section>& sections, int bars, double min_share, Pattern fallback) {
  auto playing_bars = [&] {
    int n = 0;
    for (std::size_t s = 0; s < sections.size(); ++s)
      if (part.pattern_by_section[s] != Pattern::Tacet) n += sections[s].bars;
    return n;
  };
  std::vector<std::size_t> order(sections.size());
  for (std::size_t s = 0; s < order.size(); ++s) order[s] = s;
  auto rank = [&](std::size_t s) {
    const SectionKind k = sections[s].kind;
    return (k == SectionKind::Chorus || k == SectionKind::Verse ? 0 : 1000) - sections[s].bars;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return rank(a) < rank(b); });
  for (std::size_t s : order) {
    if (playing_bars() >= min_share * bars && playing_bars() > 0) break;
    if (part.pattern_by_section[s] == Pattern::Tacet) part.pattern_by_section[s] = fallback;
  }
}

}  // namespace

const char* guitar_role_name(GuitarRole role) { return role == GuitarRole::Lead ? "lead" : "rhythm"; }

std::array<int, 6> Tuning::strings() const {
  std::array<int, 6> s = kGuitarStrings;
  for (int& n : s) n += transpose;
  s[0] += drop;
  return s;
}

const char* section_name(SectionKind kind) {
  switch (kind) {
    case SectionKind::Intro: return "intro";
    case SectionKind::Verse: return "verse";
    case SectionKind::Chorus: return "chorus";
    case SectionKind::Bridge: return "bridge";
    case SectionKind::Outro: return "outro";
  }
  return "?";
}

const char* pattern_name(Pattern pattern) {
  switch (pattern) {
    case Pattern::Tacet: return "tacet";
    case Pattern::GuitarStrum: return "strum";
    case Pattern::GuitarArpeggio: return "arpeggio";
    case Pattern::GuitarPick: return "picked line";
    case Pattern::GuitarPowerChords: return "power chords";
    case Pattern::GuitarRiff: return "riff";
    case Pattern::GuitarLead: return "lead line";
    case Pattern::BassRiff: return "riff";
    case Pattern::DrumsHardRock: return "hard rock";
    case Pattern::DrumsMetal: return "metal";
    case Pattern::BassRoots: return "roots";
    case Pattern::BassRootFifth: return "root-fifth";
    case Pattern::BassSyncopated: return "syncopated";
    case Pattern::BassWalking: return "walking";
    case Pattern::BassOctaves: return "octaves";
    case Pattern::BassWhole: return "whole notes";
    case Pattern::DrumsRock: return "rock";
    case Pattern::DrumsPop: return "pop";
    case Pattern::DrumsFourOnTheFloor: return "four on the floor";
    case Pattern::DrumsHalfTime: return "half time";
    case Pattern::DrumsSwing: return "swing";
    case Pattern::DrumsBallad: return "ballad";
    case Pattern::DrumsWaltz: return "waltz";
    case Pattern::DrumsTimeKeeping: return "time keeping";
    case Pattern::KeysBlock: return "block chords";
    case Pattern::KeysBroken: return "broken chords";
    case Pattern::KeysSustain: return "sustained chords";
    case Pattern::PadSustain: return "pad";
    case Pattern::LeadMelody: return "melody";
  }
  return "?";
}

SongPlan compose_song(const ComposeOptions& options, const SoundfontSet& fonts, int index) {
  if (fonts.size() == 0) fail("compose", "no soundfont to draw instruments from");
  if (!(options.seconds > 0)) fail("compose", "song length must be positive");
  const std::vector<GuitarKind> allowed =
      options.guitar_kinds.empty() ? std::vector<GuitarKind>(std::begin(kAllGuitarKinds), std::end(kAllGuitarKinds))
                                   : options.guitar_kinds;
  const auto song = static_cast<std::uint64_t>(index);
  SongPlan plan;
  plan.index = index;
  plan.corpus_seed = options.seed;
  plan.sample_rate = options.sample_rate;
  plan.frames = std::llround(options.seconds * options.sample_rate);

  // Artists keep a genre across their songs, which is what makes artist-disjoint splits matter.
  plan.artist_index = artist_index_of(options.seed, index);
  plan.artist = artist_name(options.seed, plan.artist_index);
  plan.title = song_title(options.seed, index);
  plan.track_id = track_id(plan.artist, plan.title);
  Rng artist_rng = Rng::derive(options.seed, {kArtistGenreTag, static_cast<std::uint64_t>(plan.artist_index)});
  std::vector<double> genre_weights;
  for (const Genre& g : genres()) genre_weights.push_back(g.weight);
  const Genre& genre = genres()[artist_rng.weighted(genre_weights)];
  plan.genre = genre.name;
  plan.style = genre.style;
  // An artist keeps a tuning, too.
  if (!genre.tunings.empty()) {
    std::vector<double> w;
    for (const auto& t : genre.tunings) w.push_back(t.second);
    plan.tuning = genre.tunings[artist_rng.weighted(w)].first;
  }

  Rng rng = Rng::derive(options.seed, {kSongTag, song});
  plan.bpm = std::round(rng.uniform(genre.bpm_lo, genre.bpm_hi));
  plan.beats_per_bar = rng.chance(genre.waltz_probability) ? 3 : 4;
  plan.swing = rng.chance(genre.swing_probability) ? rng.uniform(0.5, 1.0) : 0.0;
  plan.key = rng.integer(0, 11);
  plan.mode = rng.chance(genre.minor_probability) ? Mode::Minor : Mode::Major;
  plan.target_peak = rng.uniform(0.7, 0.95);
  plan.riff_seed = rng.next();
  if (options.mastering) {
    // Louder styles are mastered louder; all within about -14 to -7 LUFS, peaks at full scale.
    Rng master_rng = Rng::derive(options.seed, {kMasterTag, song});
    MasterSettings& m = plan.master;
    m.active = true;
    const bool heavy = plan.style == "metal" || plan.style == "hard rock";
    const bool loud = heavy || plan.style == "rock" || plan.style == "pop" || plan.style == "electronic";
    m.target_lufs = heavy ? master_rng.uniform(-10.0, -7.0) : loud ? master_rng.uniform(-12.0, -8.0) : master_rng.uniform(-14.0, -10.0);
    m.ceiling_db = master_rng.uniform(-0.3, -0.05);
    m.comp_threshold_db = master_rng.uniform(0.0, 6.0);
    m.comp_ratio = master_rng.uniform(1.5, 4.0);
    m.comp_knee_db = master_rng.uniform(3.0, 9.0);
    m.comp_attack_ms = master_rng.uniform(5.0, 30.0);
    m.comp_release_ms = master_rng.uniform(80.0, 300.0);
    m.limiter_lookahead_ms = master_rng.uniform(1.0, 3.0);
    m.limiter_release_ms = master_rng.uniform(30.0, 150.0);
  }
  const double bar_seconds = plan.beats_per_bar * plan.seconds_per_beat();
  plan.bars = std::max(1, static_cast<int>(std::ceil(options.seconds / bar_seconds - 1e-9)));
  plan.sections = song_form(rng, plan.bars);
  plan.chords = song_chords(rng, plan, genre.sevenths || (plan.style == "electronic" && rng.chance(0.3)));

  // The band.
  struct Wanted {
    Role role;
    GuitarKind kind;
    Activity activity;
    GuitarRole guitar_role = GuitarRole::Rhythm;
    int double_of = -1;  // index into `band`
  };
  std::vector<Wanted> band;
  const Activity rhythm_activity{0.75, 1, 1, 0.9, 0.85}, second_activity{0.3, 0.6, 0.95, 0.6, 0.4};
  band.push_back({Role::Guitar, draw_guitar_kind(rng, genre, allowed), rhythm_activity});
  if (rng.chance(genre.double_track_probability))
    band.push_back({Role::Guitar, band[0].kind, rhythm_activity, GuitarRole::Rhythm, 0});
  else if (rng.chance(genre.second_guitar_probability))
    band.push_back({Role::Guitar, draw_guitar_kind(rng, genre, allowed), second_activity});
  if (rng.chance(genre.lead_guitar_probability)) {
    // A lead plays electric; acoustic-only corpora keep an acoustic lead.
    std::vector<GuitarKind> lead_kinds;
    for (GuitarKind k : allowed)
      if (k != GuitarKind::Acoustic) lead_kinds.push_back(k);
    if (lead_kinds.empty()) lead_kinds = allowed;
    const GuitarKind kind = std::find(lead_kinds.begin(), lead_kinds.end(), GuitarKind::DistortedElectric) != lead_kinds.end() &&
                                    genre.guitar_weights[2] > 0.5
                                ? GuitarKind::DistortedElectric
                                : rng.pick(lead_kinds);
    band.push_back({Role::Guitar, kind, {0.5, 0.2, 0.35, 0.95, 0.6}, GuitarRole::Lead});
  }
  band.push_back({Role::Bass, {}, {0.45, 1, 1, 0.85, 0.7}});
  if (rng.chance(genre.drums_probability)) band.push_back({Role::Drums, {}, {0.4, 1, 1, 0.85, 0.6}});
  if (rng.chance(genre.keys_probability)) band.push_back({Role::Keys, {}, {0.55, 0.8, 0.9, 0.8, 0.6}});
  if (rng.chance(genre.pad_probability)) band.push_back({Role::Pad, {}, {0.6, 0.6, 0.9, 0.8, 0.7}});
  if (rng.chance(genre.lead_probability)) band.push_back({Role::Lead, {}, {0.15, 0.85, 0.9, 0.6, 0.25}});
  if (band.size() < 3) band.push_back({Role::Keys, {}, {0.55, 0.8, 0.9, 0.8, 0.6}});  // never just a duo

  const Pattern groove = rng.pick(genre.grooves);
  const Pattern bass_main = rng.pick(genre.bass_patterns);
  const bool bass_doubles_riff = rng.chance(0.75);
  for (std::size_t b = 0; b < band.size(); ++b) {
    const Wanted& want = band[b];
    Rng part_rng = Rng::derive(options.seed, {kPartTag, song, b});
    Part part;
    part.role = want.role;
    part.guitar_kind = want.kind;
    part.guitar_role = want.guitar_role;
    part.seed = part_rng.next();
    part.performance_seed = part_rng.next();
    switch (want.role) {
      case Role::Guitar:
        // With amp models the distorted guitars are played clean (or muted) into the amp, as a DI would be.
        part.instrument = melodic_instrument(part_rng.pick(guitar_programs(want.kind, options.plugins)));
        part.fret_position = want.kind == GuitarKind::Acoustic ? (part_rng.chance(0.7) ? 0 : part_rng.integer(2, 7))
                             : plan.style == "metal"            ? part_rng.integer(0, 5)
                                                                : part_rng.integer(0, 9);
        part.timing_jitter_ms = part_rng.uniform(4, 9);
        break;
      case Role::Bass:
        part.instrument = melodic_instrument(part_rng.pick(genre.bass_programs));
        part.component = "bass";
        part.timing_jitter_ms = part_rng.uniform(3, 6);
        break;
      case Role::Drums: part.instrument = drum_kit(part_rng.pick(genre.kits)); part.timing_jitter_ms = part_rng.uniform(2, 6); break;
      case Role::Keys:
        part.instrument = melodic_instrument(part_rng.pick(genre.keys_programs));
        part.register_offset = part_rng.integer(-3, 5);
        part.timing_jitter_ms = part_rng.uniform(3, 8);
        break;
      case Role::Pad:
        part.instrument = melodic_instrument(part_rng.pick(genre.pad_programs));
        part.register_offset = part_rng.integer(-5, 5);
        part.timing_jitter_ms = part_rng.uniform(3, 8);
        break;
      case Role::Lead:
        part.instrument = melodic_instrument(part_rng.pick(genre.lead_programs));
        part.component = "melody";
        part.register_offset = part_rng.integer(-4, 4);
        part.timing_jitter_ms = part_rng.uniform(5, 10);
        break;
    }
    if (want.guitar_role == GuitarRole::Lead) {
      part.component = "melody";
      part.timing_jitter_ms = part_rng.uniform(3, 7);
    }
    // Soundfont: any font that has the preset; a drum kit the font lacks becomes its standard kit.
    Rng font_rng = Rng::derive(options.seed, {kFontTag, song, b});
    part.soundfont = draw_font(font_rng, fonts, part.instrument);
    if (part.soundfont == fonts.size() && want.role == Role::Drums) {
      part.instrument = drum_kit(0);
      part.soundfont = draw_font(font_rng, fonts, part.instrument);
    }
    if (part.soundfont == fonts.size())
      fail("compose", std::string("no soundfont has the preset for ") + part.instrument.gm_name + " (bank " +
                          std::to_string(part.instrument.bank) + ", program " +
                          std::to_string(part.instrument.program) + ")");

    // What it plays where. A guitar keeps one pattern per kind of section, as a player would.
    std::vector<Pattern> by_kind(5, Pattern::Tacet);
    for (int k = 0; k < 5; ++k) {
      const auto kind = static_cast<SectionKind>(k);
      switch (want.role) {
        case Role::Guitar:
          by_kind[k] = want.guitar_role == GuitarRole::Lead ? Pattern::GuitarLead
                                                            : guitar_pattern(part_rng, want.kind, kind, genre.riff_probability);
          break;
        case Role::Bass:
          by_kind[k] = (kind == SectionKind::Intro || kind == SectionKind::Outro) && part_rng.chance(0.5)
                           ? Pattern::BassWhole
                           : bass_main;
          break;
        case Role::Drums:
          by_kind[k] = plan.beats_per_bar == 3                                    ? Pattern::DrumsWaltz
                       : kind == SectionKind::Intro && part_rng.chance(0.6)       ? Pattern::DrumsTimeKeeping
                       : kind == SectionKind::Bridge && part_rng.chance(0.3)      ? Pattern::DrumsHalfTime
                                                                                  : groove;
          if (groove == Pattern::DrumsSwing) by_kind[k] = Pattern::DrumsSwing;
          if (groove == Pattern::DrumsMetal && kind == SectionKind::Chorus && part_rng.chance(0.4))
            by_kind[k] = Pattern::DrumsHardRock;
          break;
        case Role::Keys: {
          const bool organ = part.instrument.program >= 16 && part.instrument.program <= 18;
          by_kind[k] = organ ? draw(part_rng, {{Pattern::KeysSustain, 0.6}, {Pattern::KeysBlock, 0.4}})
                             : draw(part_rng, {{Pattern::KeysBlock, 0.45}, {Pattern::KeysBroken, 0.35},
                                               {Pattern::KeysSustain, 0.2}});
          break;
        }
        case Role::Pad: by_kind[k] = Pattern::PadSustain; break;
        case Role::Lead: by_kind[k] = Pattern::LeadMelody; break;
      }
    }
    for (const Section& section : plan.sections)
      part.pattern_by_section.push_back(part_rng.chance(want.activity.at(section.kind))
                                            ? by_kind[static_cast<int>(section.kind)]
                                            : Pattern::Tacet);
    const Pattern fallback = by_kind[static_cast<int>(SectionKind::Verse)];
    const double min_share = want.role != Role::Guitar ? 0.0 : want.guitar_role == GuitarRole::Lead ? 0.25 : 0.5;
    ensure_playing(part, plan.sections, plan.bars, min_share, fallback);

    part.mix = draw_mix(part_rng, want.role, want.kind);
    if (options.plugins) {
      part.effects = draw_effects(Rng::derive(options.seed, {kEffectsTag, song, b}).next(), part, plan.style);
      // a guitar's room and modulation come from its own chain, not FluidSynth's
      if (want.role == Role::Guitar) part.mix.reverb = part.mix.chorus = false;
    }
    if (want.double_of >= 0) {
      // The second take of the same part: the same notes (same seed, patterns and neck position), played
      // again (its own performance seed) on its own guitar and tone.
      const Part& first = plan.parts[static_cast<std::size_t>(want.double_of)];
      part.seed = first.seed;
      part.pattern_by_section = first.pattern_by_section;
      part.fret_position = first.fret_position;
      part.double_of = want.double_of;
      part.mix.level_db = first.mix.level_db + part_rng.uniform(-1.0, 0.5);
    }
    plan.parts.push_back(std::move(part));
  }

  // Nobody plays: a song does not stop for a section, so the first rhythm guitar plays it.
  for (std::size_t s = 0; s < plan.sections.size(); ++s) {
    if (std::any_of(plan.parts.begin(), plan.parts.end(), [&](const Part& p) { return p.pattern_by_section[s] != Pattern::Tacet; }))
      continue;
    for (Part& p : plan.parts)
      if (p.role == Role::Guitar && p.guitar_role == GuitarRole::Rhythm) {
        const auto kind = static_cast<std::size_t>(plan.sections[s].kind);
        // its pattern for this kind of section, or the verse's when it had chosen to rest in all of them
        Pattern pattern = Pattern::Tacet;
        for (std::size_t k = 0; k < plan.sections.size() && pattern == Pattern::Tacet; ++k)
          if (static_cast<std::size_t>(plan.sections[k].kind) == kind) pattern = p.pattern_by_section[k];
        for (std::size_t k = 0; k < plan.sections.size() && pattern == Pattern::Tacet; ++k) pattern = p.pattern_by_section[k];
        p.pattern_by_section[s] = pattern;
        break;
      }
  }
  // A double-tracked part follows its first take there too.
  for (Part& p : plan.parts)
    if (p.double_of >= 0) p.pattern_by_section = plan.parts[static_cast<std::size_t>(p.double_of)].pattern_by_section;

  // A bass that doubles the riff wherever a rhythm guitar plays it.
  for (std::size_t s = 0; s < plan.sections.size() && bass_doubles_riff; ++s) {
    const bool riff = std::any_of(plan.parts.begin(), plan.parts.end(), [&](const Part& p) {
      return p.role == Role::Guitar && p.pattern_by_section[s] == Pattern::GuitarRiff;
    });
    if (!riff) continue;
    for (Part& p : plan.parts)
      if (p.role == Role::Bass && p.pattern_by_section[s] != Pattern::Tacet && p.pattern_by_section[s] != Pattern::BassWalking)
        p.pattern_by_section[s] = Pattern::BassRiff;
  }

  // Pans. A double-tracked pair sits hard left and right; two different rhythm parts opposite each other;
  // a single rhythm guitar anywhere near the middle; a lead near the centre. The second of two different
  // parts yields a little level and, where both play, avoids doubling the first one's pattern.
  std::vector<std::size_t> rhythm_parts;
  for (std::size_t p = 0; p < plan.parts.size(); ++p)
    if (plan.parts[p].role == Role::Guitar && plan.parts[p].guitar_role == GuitarRole::Rhythm) rhythm_parts.push_back(p);
  const double side = rng.chance(0.5) ? 1.0 : -1.0;
  if (rhythm_parts.size() == 2 && plan.parts[rhythm_parts[1]].double_of >= 0) {
    plan.parts[rhythm_parts[0]].mix.pan = side * rng.uniform(0.85, 1.0);
    plan.parts[rhythm_parts[1]].mix.pan = -side * rng.uniform(0.85, 1.0);
  } else if (rhythm_parts.size() == 2) {
    Part& first = plan.parts[rhythm_parts[0]];
    Part& second = plan.parts[rhythm_parts[1]];
    first.mix.pan = side * rng.uniform(0.3, 0.7);
    second.mix.pan = -side * rng.uniform(0.3, 0.7);
    second.mix.level_db -= 1.0;
    for (std::size_t s = 0; s < plan.sections.size(); ++s)
      if (second.pattern_by_section[s] == first.pattern_by_section[s] && first.pattern_by_section[s] != Pattern::Tacet)
        second.pattern_by_section[s] = second.guitar_kind == GuitarKind::DistortedElectric ? Pattern::GuitarPick
                                       : first.pattern_by_section[s] == Pattern::GuitarStrum ? Pattern::GuitarArpeggio
                                                                                             : Pattern::GuitarStrum;
  } else {
    plan.parts[rhythm_parts[0]].mix.pan = rng.uniform(-0.4, 0.4);
  }
  for (Part& part : plan.parts) {
    switch (part.role) {
      case Role::Bass: part.mix.pan = rng.uniform(-0.05, 0.05); break;
      case Role::Drums: part.mix.pan = rng.uniform(-0.1, 0.1); break;
      case Role::Keys: part.mix.pan = rng.uniform(-0.5, 0.5); break;
      case Role::Pad: part.mix.pan = rng.uniform(-0.2, 0.2); break;
      case Role::Lead: part.mix.pan = rng.uniform(-0.15, 0.15); break;
      case Role::Guitar:
        if (part.guitar_role == GuitarRole::Lead) part.mix.pan = rng.uniform(-0.25, 0.25);
        break;
    }
  }

  // MedleyDB lists stems in no particular order; neither do we. (double_of follows its part.)
  std::vector<std::size_t> order(plan.parts.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  for (std::size_t i = order.size(); i > 1; --i)
    std::swap(order[i - 1], order[static_cast<std::size_t>(rng.integer(0, static_cast<int>(i) - 1))]);
  std::vector<Part> shuffled;
  std::vector<int> new_index(order.size());
  for (std::size_t i = 0; i < order.size(); ++i) new_index[order[i]] = static_cast<int>(i);
  for (std::size_t i : order) shuffled.push_back(std::move(plan.parts[i]));
  for (Part& part : shuffled)
    if (part.double_of >= 0) part.double_of = new_index[static_cast<std::size_t>(part.double_of)];
  plan.parts = std::move(shuffled);
  return plan;
}

}  // namespace unmix::synth
