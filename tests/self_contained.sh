#!/usr/bin/env bash
# The repository stands on its own:
#  1. no file refers to notes kept outside it (the facts are restated in docs/ with their primary
#     sources: papers, model cards, release code);
#  2. every reference to docs/NAME.md or docs/NAME.md#anchor names a file and heading that exist.
# Fails naming every offending file:line.
# Usage: self_contained.sh [REPO_ROOT]   (default: the checkout this script lives in)
set -u
root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
cd "$root" || { echo "self_contained: cannot enter $root"; exit 1; }

# Outside names, as extended regexes (matched case-insensitively). This file names them, so it
# is the one file not searched.
patterns=(
  '\.\./shared'
  'MODEL_FACTS'
  'ECOSYSTEM\.md'
  'STYLE\.md'
  'seed[ _-]table'
)
self=tests/self_contained.sh

# Tracked files when ROOT is the top of a git checkout; every file (without .git and build
# trees) otherwise, e.g. in a source tarball.
if [[ $(git rev-parse --show-toplevel 2>/dev/null) == "$(pwd -P)" ]]; then
  mapfile -d '' files < <(git ls-files -z)
else
  mapfile -d '' files < <(find . -type f ! -path './.git/*' ! -path './build*' -print0 |
    sed -z 's|^\./||')
fi
searched() { for f in "${files[@]}"; do [[ $f != "$self" && -f $f ]] && printf '%s\0' "$f"; done; }
failed=0

# 1. Outside references. -I skips binary files (the safetensors fixtures); -H -n: file:line.
regex=$(IFS='|'; echo "${patterns[*]}")
hits=$(searched | xargs -0 -r grep -I -H -n -i -E -- "$regex")
if [[ -n $hits ]]; then
  echo "$hits" | cut -c1-200
  echo "self_contained: $(echo "$hits" | wc -l) line(s) refer to files outside the repository;" \
    "cite docs/*.md or the primary source instead"
  failed=1
fi

# 2. References into docs/. A heading's anchor is GitHub's: lower case, punctuation other than
# '-' and '_' dropped, spaces as '-'.
anchors_of() {
  grep -E '^#{1,6} ' "$1" | sed -E 's/^#+ +//' | tr '[:upper:]' '[:lower:]' |
    sed -E 's/[^[:alnum:] _-]//g; s/ /-/g'
}
while IFS= read -r hit; do
  where=${hit%%:docs/*}
  ref=docs/${hit#*:docs/}
  file=${ref%%#*}
  if [[ ! -f $file ]]; then
    echo "$where: $ref: no such file"
    failed=1
  elif [[ $ref == *#* ]] && ! anchors_of "$file" | grep -qxF -- "${ref#*#}"; then
    echo "$where: $ref: no such heading in $file"
    failed=1
  fi
done < <(searched | xargs -0 -r grep -I -H -n -o -E -- 'docs/[A-Za-z0-9_]+\.md(#[a-z0-9_-]+)?')

((failed)) && exit 1
echo "self_contained: ok (${#files[@]} files)"
