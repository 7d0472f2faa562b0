#!/bin/sh
# structure.sh - checks the layering described in README "Layout" (TAP):
#   1. infoviewctl defines no symbol of the daemon's modules (nm);
#   2. infoviewctl links neither libcurl nor libical (ldd);
#   3. no file in src/ includes a header of a layer above its own, and the
#      daemon and the CLI do not include each other's headers;
#   4. the lifecycle diagram names only functions that exist;
#   5. every state change goes through lifecycle.c;
#   6. no two modules call each other, directly or round a loop (nm: who
#      calls a function that which object defines; tsort finds a loop);
#   7. every exported name carries its module's prefix
#      (tests/prefixes says which).
# Run from `make check` (top_srcdir / top_builddir set) or by hand:
#   top_srcdir=. top_builddir=build sh tests/structure.sh
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/build}
src=$top_srcdir/src
ctl=$top_builddir/infoviewctl
n=0
fails=0

ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	fails=$((fails + 1))
	echo "not ok $n - $1"
}

# The layer of a module (a file's name without directory and extension).
# 0 pure, 1 adapters, 2 domain, 3 daemon, 4 CLI. Names not listed are
# placed by their prefix; an unknown name is reported and treated as pure
# (so it may include only pure headers).
layer() {
	case $1 in
	autoconf) echo 0 ;;
	util | utf8 | log | template | json | provider | timewin | classify | classify_*) echo 0 ;;
	config | secret | child | store | store_* | mime | mime_* | smtp | imap | \
	    invite | csvimport | control | notify | sdnotify | folders | account) echo 1 ;;
	lifecycle | plan | gate | render | compose) echo 2 ;;
	sched | sched_* | connections | send | inbox | react | account | infoviewd) echo 3 ;;
	ctl | ctl_* | infoviewctl) echo 4 ;;
	*) echo "# unknown module '$1': add it to tests/structure.sh" >&2
	   echo 0 ;;
	esac
}

# Includes that go up a layer on purpose, with the reason:
#   classify*.h -> mime.h: classification reads the parsed message that
#   the MIME adapter produces; those types could move to a pure header of
#   their own.
allowed() {
	case "$1:$2" in
	classify:mime | classify_*:mime) return 0 ;;
	esac
	return 1
}

# ---- 1, 2: the CLI links no daemon code -----------------------------------
if [ ! -x "$ctl" ]; then
	not_ok "infoviewctl built at $ctl"
	not_ok "infoviewctl links neither libcurl nor libical"
else
	lib=$top_builddir/libinfoview.a
	# Symbols defined by the daemon's modules and the adapters only the
	# daemon uses (SMTP, IMAP, systemd notification). Reading a message
	# (mime_in, classify_*) is shared: `infoviewctl classify` shows how
	# the daemon reads one.
	daemon_syms=$(nm -g --defined-only "$lib" 2>/dev/null | awk '
	    /^$/ { next }
	    /:$/ { obj = $0; next }
	    obj ~ /-(sched|sched_[a-z_]*|account|connections|send|inbox|react|smtp|imap|notify|sdnotify)\.o:$/ &&
	        $2 ~ /^[TDBR]$/ { print $3 }' | sort -u)
	ctl_syms=$(nm -g --defined-only "$ctl" | awk '{ print $3 }' | sort -u)
	if [ -z "$daemon_syms" ]; then
		not_ok "daemon symbols found in $lib"
	else
		bad=$(printf '%s\n' "$ctl_syms" | comm -12 - \
		    "$(printf '%s\n' "$daemon_syms" > "${TMPDIR:-/tmp}/ivstruct.$$" &&
		    echo "${TMPDIR:-/tmp}/ivstruct.$$")")
		rm -f "${TMPDIR:-/tmp}/ivstruct.$$"
		if [ -z "$bad" ]; then
			ok "infoviewctl contains no daemon symbol ($(printf '%s\n' "$daemon_syms" | wc -l) checked)"
		else
			not_ok "infoviewctl contains daemon symbols:"
			printf '%s\n' "$bad" | sed 's/^/#   /'
		fi
	fi
	libs=$(ldd "$ctl" | grep -E 'libcurl|libical')
	if [ -z "$libs" ]; then
		ok "infoviewctl links neither libcurl nor libical"
	else
		not_ok "infoviewctl links neither libcurl nor libical"
		printf '%s\n' "$libs" | sed 's/^/#   /'
	fi
fi

# ---- 3: no include goes up a layer ----------------------------------------
bad=""
for f in "$src"/*.c "$src"/*.h; do
	[ -e "$f" ] || continue
	m=$(basename "$f"); m=${m%.*}
	case $m in *_int) m=${m%_int} ;; esac
	lf=$(layer "$m")
	for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)\.h".*/\1/p' "$f"); do
		hm=${h##*/}
		case $hm in *_int) hm=${hm%_int} ;; esac
		lh=$(layer "$hm")
		allowed "$m" "$hm" && continue
		# The daemon (3) and the CLI (4) are both on top: neither
		# includes the other's headers.
		if [ "$lh" -gt "$lf" ] || { [ "$lf" = 4 ] && [ "$lh" = 3 ]; }; then
			bad="$bad
$(basename "$f") (layer $lf) includes $h.h (layer $lh)"
		fi
	done
done
if [ -z "$bad" ]; then
	ok "no include goes up a layer (pure < adapters < domain < daemon, CLI)"
else
	not_ok "includes that go up a layer:"
	printf '%s\n' "$bad" | sed '/^$/d; s/^/#   /'
fi

# ---- 4: the lifecycle diagram names functions that exist ------------------
# Every name(...)-like word with an underscore in the comment at the top of
# lifecycle.c (state names and config keys aside) is a function defined
# in src/.
bad=""
for f in $(sed -n '1,/\*\//p' "$src/lifecycle.c" | tr -c 'a-z0-9_.*\n' ' ' |
    tr ' ' '\n' | grep -E '^[a-z][a-z0-9]*_[a-z0-9_]*$' | sort -u); do
	case $f in
	followed_up | no_response) continue ;;  # states
	esac
	grep -q "^$f(" "$src"/*.c || bad="$bad $f"
done
if [ -z "$bad" ]; then
	ok "the lifecycle diagram names only functions that exist"
else
	not_ok "the lifecycle diagram names functions that do not exist:$bad"
fi

# ---- 5: every state change goes through lifecycle.c ---------------------
# The store's compare-and-set functions that change a contact's, an outbox
# row's or a meeting's state are called from lifecycle.c only.
bad=$(grep -nE '(store_contact_set_state|store_outbox_move|store_meeting_move|store_meeting_set_rsvp)\(' \
    "$src"/*.c | grep -vE '^[^:]*/(lifecycle|store_[a-z]+)\.c:' || true)
if [ -z "$bad" ]; then
	ok "every state change goes through lifecycle.c"
else
	not_ok "state changes that bypass lifecycle.c:"
	printf '%s\n' "$bad" | sed 's/^/#   /'
fi

# ---- 6: no module calls back up: the calls between modules have no loop ----
# An edge A -> B for every function or variable that A's object uses and
# B's defines (nm); tsort reports any loop in that graph.
objs=$(ls "$top_builddir"/src/*.o 2>/dev/null)
if [ -z "$objs" ]; then
	not_ok "objects found in $top_builddir/src"
else
	edges="${TMPDIR:-/tmp}/ivedges.$$"
	for o in $objs; do
		m=$(basename "$o" .o); m=${m#libinfoview_a-}
		nm -g --defined-only "$o" | awk -v m="$m" '$2 ~ /^[TDBRC]$/ { print "D", m, $3 }'
		nm -u "$o" | awk -v m="$m" '{ print "U", m, $2 }'
	done | awk '$1 == "D" { def[$3] = $2; next }
	    { use[++n] = $2 " " $3 }
	    END { for (i = 1; i <= n; i++) { split(use[i], a, " ");
	        if ((a[2] in def) && def[a[2]] != a[1]) print a[1], def[a[2]] } }' |
	    sort -u > "$edges"
	loops=$(tsort "$edges" 2>&1 >/dev/null | grep -v 'input contains a loop' |
	    sed 's/^tsort: //' | tr '\n' ' ')
	if [ -z "$loops" ]; then
		ok "no module calls back up ($(wc -l < "$edges") calls between modules, no loop)"
	else
		not_ok "modules that call each other round a loop: $loops"
	fi
	rm -f "$edges"
fi

# ---- 7: every exported name carries its module's prefix -------------------
# The words tests/prefixes allows a module: its line's, else "module_".
prefixes_of() {
	while read -r pat words; do
		case $pat in '' | '#'*) continue ;; esac
		# shellcheck disable=SC2254
		case $1 in $pat) echo "$words"; return ;; esac
	done < "$top_srcdir/tests/prefixes"
	echo "$1_"
}
# name_allowed NAME WORD...: true when a WORD is NAME or a prefix of it.
name_allowed() {
	name=$1
	shift
	for w in "$@"; do
		case $w in
		*_) case $name in "$w"*) return 0 ;; esac ;;
		*) [ "$name" = "$w" ] && return 0 ;;
		esac
	done
	return 1
}
bad=""
checked=0
for o in "$top_builddir"/src/*.o; do
	[ -e "$o" ] || continue
	m=$(basename "$o" .o)
	m=${m##*-}	# libinfoview_a-util.o, infoviewctl-ctl_contact.o
	[ -e "$src/$m.c" ] || continue	# an object left from a removed file
	words=$(prefixes_of "$m")
	# Names from the compiler and the sanitizers begin with "__".
	for name in $(nm -g --defined-only "$o" | awk 'NF >= 3 { print $3 }' |
	    grep -v '^__'); do
		checked=$((checked + 1))
		# shellcheck disable=SC2086
		name_allowed "$name" $words || bad="$bad
$m.c exports $name (allowed: $words)"
	done
done
if [ "$checked" -eq 0 ]; then
	not_ok "objects of src/ built in $top_builddir/src"
elif [ -z "$bad" ]; then
	ok "every exported name carries its module's prefix ($checked checked)"
else
	not_ok "exported names without their module's prefix (tests/prefixes):"
	printf '%s\n' "$bad" | sed '/^$/d; s/^/#   /'
fi

echo "1..$n"
[ "$fails" -eq 0 ]
