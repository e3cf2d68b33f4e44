// Usage errors (exit code 2): an unknown command or option gets a "did you mean" when a known
// one is close.
//
//   catch (const CLI::ParseError& e) { message = usage_error(app, argc, argv, e); }
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace wdlab::cli {

// The candidate closest to `word` by edit distance, if it is close (at most a third of the
// word's length, and at least 1, edits away).
std::optional<std::string> closest_match(const std::string& word,
                                         const std::vector<std::string>& candidates);

// One line for a failed parse: an unknown command or option named, with a suggestion where one
// is close, else CLI11's message.
std::string usage_error(const CLI::App& app, int argc, const char* const* argv,
                        const CLI::ParseError& error);

}  // namespace wdlab::cli
