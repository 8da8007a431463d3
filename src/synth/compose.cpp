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
  const char* name;  // MedleyDB genre label
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
  std::vector<int> lead_programs;
  double lead_probability;
  double drums_probability;
  std::vector<int> kits;
  bool sevenths;
};

const std::vector<Genre>& genres() {
  using P = Pattern;
  static const std::vector<Genre> all = {
      {"Rock", 96, 152, 0.45, 0.0, 0.05, {0.2, 0.3, 0.5}, {P::DrumsRock, P::DrumsRock, P::DrumsHalfTime},
       {P::BassRoots, P::BassRootFifth, P::BassSyncopated}, {33, 34}, {0, 16, 18}, 0.5, {48, 89}, 0.35,
       {80, 81, 56, 65, 40, 22}, 0.75, 0.97, {0, 8, 16}, false},
      {"Pop", 88, 128, 0.35, 0.05, 0.05, {0.4, 0.45, 0.15}, {P::DrumsPop, P::DrumsRock, P::DrumsFourOnTheFloor},
       {P::BassRootFifth, P::BassSyncopated, P::BassRoots, P::BassOctaves}, {33, 34, 38}, {0, 1, 4, 5}, 0.75,
       {48, 49, 88, 89, 94}, 0.55, {73, 65, 80, 71, 64, 56}, 0.85, 0.95, {0, 8, 24}, false},
      {"Singer/Songwriter", 68, 124, 0.4, 0.25, 0.1, {0.8, 0.2, 0.0}, {P::DrumsBallad, P::DrumsRock},
       {P::BassRootFifth, P::BassWhole}, {33, 35, 32}, {0, 1, 4}, 0.6, {48, 49, 89}, 0.5, {73, 71, 40, 22, 68},
       0.7, 0.7, {0, 40, 8}, false},
      {"Electronic/Fusion", 100, 128, 0.6, 0.0, 0.0, {0.1, 0.6, 0.3}, {P::DrumsFourOnTheFloor, P::DrumsPop},
       {P::BassOctaves, P::BassSyncopated, P::BassRoots}, {38, 39, 33}, {4, 5, 90}, 0.6, {88, 89, 90, 94, 50}, 0.85,
       {80, 81, 64, 73}, 0.85, 1.0, {24, 25}, false},
      {"Jazz", 92, 170, 0.35, 0.1, 1.0, {0.25, 0.75, 0.0}, {P::DrumsSwing}, {P::BassWalking}, {32, 33}, {0, 4}, 0.85,
       {48}, 0.2, {65, 66, 56, 73, 71}, 0.9, 0.95, {32, 40}, true},
      {"World/Folk", 80, 136, 0.45, 0.3, 0.15, {0.85, 0.15, 0.0}, {P::DrumsBallad, P::DrumsRock},
       {P::BassRootFifth, P::BassWhole}, {32, 33}, {0, 16}, 0.3, {48, 49}, 0.4, {73, 40, 22, 71, 68}, 0.85, 0.6,
       {0, 40}, false},
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

constexpr std::uint64_t kSongTag = 0x50a6, kPartTag = 0x9a27, kFontTag = 0xf047, kArtistGenreTag = 0x6e7e;

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

Pattern guitar_pattern(Rng& rng, GuitarKind kind, SectionKind section) {
  using P = Pattern;
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
  const Genre& genre = genres()[artist_rng.weighted(std::vector<double>{0.3, 0.22, 0.18, 0.1, 0.08, 0.12})];
  plan.genre = genre.name;

  Rng rng = Rng::derive(options.seed, {kSongTag, song});
  plan.bpm = std::round(rng.uniform(genre.bpm_lo, genre.bpm_hi));
  plan.beats_per_bar = rng.chance(genre.waltz_probability) ? 3 : 4;
  plan.swing = rng.chance(genre.swing_probability) ? rng.uniform(0.5, 1.0) : 0.0;
  plan.key = rng.integer(0, 11);
  plan.mode = rng.chance(genre.minor_probability) ? Mode::Minor : Mode::Major;
  plan.target_peak = rng.uniform(0.7, 0.95);
  const double bar_seconds = plan.beats_per_bar * plan.seconds_per_beat();
  plan.bars = std::max(1, static_cast<int>(std::ceil(options.seconds / bar_seconds - 1e-9)));
  plan.sections = song_form(rng, plan.bars);
  plan.chords = song_chords(rng, plan, genre.sevenths || (genre.name == std::string("Electronic/Fusion") && rng.chance(0.3)));

  // The band.
  struct Wanted {
    Role role;
    GuitarKind kind;
    Activity activity;
  };
  std::vector<Wanted> band;
  const int guitars = rng.chance(0.45) ? 2 : 1;
  for (int g = 0; g < guitars; ++g)
    band.push_back({Role::Guitar, draw_guitar_kind(rng, genre, allowed),
                    g == 0 ? Activity{0.75, 1, 1, 0.9, 0.85} : Activity{0.3, 0.6, 0.95, 0.6, 0.4}});
  band.push_back({Role::Bass, {}, {0.45, 1, 1, 0.85, 0.7}});
  if (rng.chance(genre.drums_probability)) band.push_back({Role::Drums, {}, {0.4, 1, 1, 0.85, 0.6}});
  if (rng.chance(genre.keys_probability)) band.push_back({Role::Keys, {}, {0.55, 0.8, 0.9, 0.8, 0.6}});
  if (rng.chance(genre.pad_probability)) band.push_back({Role::Pad, {}, {0.6, 0.6, 0.9, 0.8, 0.7}});
  if (rng.chance(genre.lead_probability)) band.push_back({Role::Lead, {}, {0.15, 0.85, 0.9, 0.6, 0.25}});
  if (band.size() < 3) band.push_back({Role::Keys, {}, {0.55, 0.8, 0.9, 0.8, 0.6}});  // never just a duo

  const Pattern groove = rng.pick(genre.grooves);
  const Pattern bass_main = rng.pick(genre.bass_patterns);
  for (std::size_t b = 0; b < band.size(); ++b) {
    const Wanted& want = band[b];
    Rng part_rng = Rng::derive(options.seed, {kPartTag, song, b});
    Part part;
    part.role = want.role;
    part.guitar_kind = want.kind;
    part.seed = part_rng.next();
    switch (want.role) {
      case Role::Guitar:
        part.instrument = melodic_instrument(part_rng.pick(guitar_programs(want.kind)));
        part.fret_position = want.kind == GuitarKind::Acoustic ? (part_rng.chance(0.7) ? 0 : part_rng.integer(2, 7))
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
        case Role::Guitar: by_kind[k] = guitar_pattern(part_rng, want.kind, kind); break;
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
    ensure_playing(part, plan.sections, plan.bars, want.role == Role::Guitar ? 0.5 : 0.0, fallback);

    part.mix = draw_mix(part_rng, want.role, want.kind);
    plan.parts.push_back(std::move(part));
  }

  // Two guitars sit on opposite sides; one guitar anywhere near the middle. The second one also yields
  // a little level and, where both play, avoids doubling the first one's pattern.
  std::vector<std::size_t> guitar_parts;
  for (std::size_t p = 0; p < plan.parts.size(); ++p)
    if (plan.parts[p].role == Role::Guitar) guitar_parts.push_back(p);
  if (guitar_parts.size() == 2) {
    Part& first = plan.parts[guitar_parts[0]];
    Part& second = plan.parts[guitar_parts[1]];
    const double side = rng.chance(0.5) ? 1.0 : -1.0;
    first.mix.pan = side * rng.uniform(0.3, 0.7);
    second.mix.pan = -side * rng.uniform(0.3, 0.7);
    second.mix.level_db -= 1.0;
    for (std::size_t s = 0; s < plan.sections.size(); ++s)
      if (second.pattern_by_section[s] == first.pattern_by_section[s] && first.pattern_by_section[s] != Pattern::Tacet)
        second.pattern_by_section[s] = second.guitar_kind == GuitarKind::DistortedElectric ? Pattern::GuitarPick
                                       : first.pattern_by_section[s] == Pattern::GuitarStrum ? Pattern::GuitarArpeggio
                                                                                             : Pattern::GuitarStrum;
  } else {
    plan.parts[guitar_parts[0]].mix.pan = rng.uniform(-0.4, 0.4);
  }
  for (Part& part : plan.parts) {
    switch (part.role) {
      case Role::Bass: part.mix.pan = rng.uniform(-0.05, 0.05); break;
      case Role::Drums: part.mix.pan = rng.uniform(-0.1, 0.1); break;
      case Role::Keys: part.mix.pan = rng.uniform(-0.5, 0.5); break;
      case Role::Pad: part.mix.pan = rng.uniform(-0.2, 0.2); break;
      case Role::Lead: part.mix.pan = rng.uniform(-0.15, 0.15); break;
      case Role::Guitar: break;
    }
  }

  // MedleyDB lists stems in no particular order; neither do we.
  for (std::size_t i = plan.parts.size(); i > 1; --i)
    std::swap(plan.parts[i - 1], plan.parts[static_cast<std::size_t>(rng.integer(0, static_cast<int>(i) - 1))]);
  return plan;
}

}  // namespace unmix::synth
