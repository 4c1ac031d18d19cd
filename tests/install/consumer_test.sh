#!/usr/bin/env bash
# The installed tree works on its own: `cmake --install` into a prefix, the prefix moved elsewhere
# (relocatable), examples/consumer/ built out of tree against it with find_package(tlens), and run
# with the working directory elsewhere and no TLENS_* variables. Its top-5 must equal the build
# tree's `tlens predict` on the same model and prompt, and the installed `tlens` must find its
# assets (the shipped model, GPT-2's vocabulary).
#   tests/install/consumer_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unset TLENS_HOME TLENS_MODELS TLENS_ASSETS
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$work/first" >/dev/null
mv "$work/first" "$work/prefix"  # relocated: nothing may point at the first prefix
prefix=$work/prefix
for f in lib/libtlens.so bin/tlens include/tlens/hooked_transformer.h lib/cmake/tlens/tlensConfig.cmake \
         share/tlens/models/tlens-induction-2l/config.json share/tlens/assets/gpt2/encoder.json; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done
# The installed tree uses its own data, not the source tree's: the shipped model resolves to the
# relocated prefix. (A path compiled in, as before this test, would resolve into the source tree,
# which still exists here. `strings` is no check: the compiler splits such constants into
# immediates.)
shipped=$(cd / && "$prefix/bin/tlens" models --json |
          python3 -c 'import json, sys; print(next(m["path"] for m in json.load(sys.stdin) if m["source"] == "shipped"))')
[ "$shipped" = "$prefix/share/tlens/models/tlens-induction-2l" ] ||
  fail "the installed tlens finds the shipped model at $shipped, not under $prefix/share/tlens"

cp -r "$src/examples/consumer" "$work/consumer"
cmake -S "$work/consumer" -B "$work/consumer-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure"; }
cmake --build "$work/consumer-build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build"; }

prompt="The cat sat on the mat. The cat sat on the"
got=$(cd / && "$work/consumer-build/top5" "$prompt" 2>/dev/null | cut -f1)
[ "$(echo "$got" | wc -l)" = 5 ] || fail "top5 printed: $got"
want=$("$build/tlens" predict --model tlens-induction-2l --top-k 5 --json "$prompt" 2>/dev/null |
       python3 -c 'import json, sys; print("\n".join(str(p["token"]) for p in json.load(sys.stdin)))')
[ "$got" = "$want" ] || fail "installed consumer's top-5 ids ($got) differ from the build tree's ($want)"

# The installed command finds the shipped model and the vocabulary next to itself.
(cd / && "$prefix/bin/tlens" tokenize --model tlens-induction-2l --json "Hullo" >/dev/null) ||
  fail "installed tlens tokenize"
(cd / && "$prefix/bin/tlens" info --model tlens-induction-2l >/dev/null 2>&1) || fail "installed tlens info"
echo "consumer_test: installed, relocated, built examples/consumer and matched tlens predict: ids $(echo $got)"
