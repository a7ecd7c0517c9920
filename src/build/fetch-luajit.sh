#!/bin/sh
# fetch-luajit.sh VERSION DEST STAMP
#
# Builds Debian's own LuaJIT source package, version VERSION, with hook checks
# in compiled traces (-DLUAJIT_ENABLE_CHECKHOOK), so a watchdog thread can stop
# a runaway rule script (docs/sandbox-deadline.md). The result lands in DEST:
#   bin/luajit                the interpreter (busted and lua-cjson run on it)
#   lib/libluajit-5.1.a       static, position-independent
#   include/luajit-2.1/*.h
#   share/luajit/jit/*.lua    jit.* modules matching this VM (jit.v, jit.dump)
#   .stamp                    STAMP, written last: its presence means "complete"
#
# Several build folders share DEST, so one flock serialises them; the work
# happens in a scratch folder renamed into place at the end, so an interrupted
# build never leaves a half-filled DEST behind.
#
# The source comes from the Debian mirror the system already uses, through a
# private deb-src list: the system's apt configuration and lists stay untouched.
set -eu

version=$1
dest=$2
stamp=$3
here=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$(dirname "$dest")"   # .deps/ does not exist in a fresh clone
exec 9>"$dest.lock"
flock 9

if [ -f "$dest/.stamp" ] && [ "$(cat "$dest/.stamp")" = "$stamp" ]; then
    exit 0
fi

work="$dest.work.$$"
rm -rf "$work"
mkdir -p "$work/apt/parts" "$work/apt/lists/partial" \
         "$work/apt/cache/archives/partial" "$work/dl"
trap 'rm -rf "$work"' EXIT

say() { printf 'fetch-luajit: %s\n' "$*"; }

# One deb-src entry per deb entry of the system's own sources: same mirror,
# same suites, same keyring. deb822 files and one-line lists are both read.
private_sources() {
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        sed -e 's/^Types:.*/Types: deb-src/' -e 's/^Components:.*/Components: main/' \
            "$f" > "$work/apt/parts/$(basename "$f")"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" { $1 = "deb-src"; print }' "$f" \
            >> "$work/apt/parts/system.list"
    done
}

apt_private() {
    apt-get -q -o Dir::Etc::SourceList=/dev/null \
        -o Dir::Etc::SourceParts="$work/apt/parts" \
        -o Dir::State::Lists="$work/apt/lists" \
        -o Dir::Cache="$work/apt/cache" "$@"
}

say "fetching Debian source of luajit $version"
private_sources
apt_private update
(cd "$work/dl" && apt_private source --download-only "luajit=$version")

say "unpacking with Debian's patches"
# apt-get has already checked the files against the signed Release file.
dpkg-source --no-check -x "$work"/dl/luajit_*.dsc "$work/src"
# Debian's snapshot predates LuaJIT's own fix: with hook checks, a hot
# pairs() loop compiled into an empty trace and never ended.
patch -d "$work/src" -p1 < "$here/luajit-checkhook-itern.patch"

multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
jobs=$(nproc 2>/dev/null || echo 2)
[ "$jobs" -le 2 ] || jobs=2

# Debian's own build line (debian/rules: PREFIX, MULTILIB, the amalgamated
# build) and Debian's compiler flags, so module paths and code generation
# match the packaged luajit. -fPIC lets the static library go into shared
# objects as well; BUILDMODE=static skips the unused libluajit.so, which
# halves the build time.
say "building with -DLUAJIT_ENABLE_CHECKHOOK ($jobs jobs)"
make -C "$work/src" -j"$jobs" amalg Q= E=@: \
    BUILDMODE=static PREFIX=/usr MULTILIB="lib/$multiarch" \
    XCFLAGS=-DLUAJIT_ENABLE_CHECKHOOK \
    CFLAGS="$(dpkg-buildflags --get CFLAGS) -fPIC" \
    LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"

s="$work/src/src"
out="$work/out"
mkdir -p "$out/bin" "$out/lib" "$out/include/luajit-2.1" "$out/share/luajit"
cp "$s/luajit" "$out/bin/luajit"
cp "$s/libluajit.a" "$out/lib/libluajit-5.1.a"
cp "$s/lua.h" "$s/lualib.h" "$s/lauxlib.h" "$s/luaconf.h" "$s/lua.hpp" \
   "$s/luajit.h" "$out/include/luajit-2.1/"
cp -r "$s/jit" "$out/share/luajit/"

"$out/bin/luajit" -e 'assert(jit.status(), "JIT is off in the built luajit")'

printf '%s\n' "$stamp" > "$out/.stamp"
rm -rf "$dest"
mv "$out" "$dest"
say "installed in $dest"
