#!/bin/sh
# test_cli.sh - infoviewctl end to end on a scratch database: CSV import
# (LinkedIn's export, twice), list/show/stop/forget with --json, preview,
# exit codes, and refusal of header-breaking data. Speaks TAP.
set -u

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
CTL=$top_builddir/infoviewctl
PY=/usr/bin/python3
DATA=$top_srcdir/tests/data/csv

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
mkdir "$T/templates"
cat > "$T/iv.conf" <<CONF
identity = {
  name = "Sophia Lopez";
  email = "sophia@example.org";
  timezone = "America/Los_Angeles";
  signature = "Business major, Pacific Lutheran University";
};
smtp = { url = "smtp://127.0.0.1:2525"; tls = "none"; };
imap = { host = "127.0.0.1"; tls = "none"; };
storage = { database = "$T/iv.db"; };
templates = { dir = "$T/templates"; };
CONF
INFOVIEWD_TEMPLATES_SHIPPED=$top_srcdir/templates
export INFOVIEWD_TEMPLATES_SHIPPED
unset NO_COLOR

echo "1..28"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "# $l"; done; }
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds
check() {
	d=$1; shift
	if "$@" >"$T/check.out" 2>&1; then ok "$d"; else nok "$d" "$(cat "$T/check.out")"; fi
}
ctl() { "$CTL" -c "$T/iv.conf" "$@"; }
# run: output in $T/out and $T/err, exit code in $rc
run() { ctl "$@" >"$T/out" 2>"$T/err"; rc=$?; }
# expect_rc DESCRIPTION CODE COMMAND-ARGS...
expect_rc() {
	d=$1; want=$2; shift 2
	run "$@"
	if [ "$rc" = "$want" ]; then ok "$d"; else
		nok "$d" "exit $rc, want $want" "$(cat "$T/out" "$T/err")"; fi
}
# json PYTHON-EXPR: evaluates EXPR with j = the JSON in $T/out
json() { "$PY" -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$T/out"; }

# 1-3: LinkedIn's export, preamble and rows without email
run contact import "$DATA/linkedin/Connections.csv" --field nursing
check "first import exits 0 and counts" test "$rc:$(cat "$T/out")" = "0:imported 6 new, 0 updated, 4 skipped"
check "skipped rows are reported with file and line" \
    grep -qx "$DATA/linkedin/Connections.csv:6: skipped: no email address (David Kim)" "$T/err"
check "one stderr line per skipped row" test "$(grep -c ': skipped: ' "$T/err")" = 4

# 4-5: re-import updates, never duplicates
run contact import "$DATA/linkedin/Connections.csv"
check "second import updates" test "$rc:$(cat "$T/out")" = "0:imported 0 new, 6 updated, 4 skipped"
run --json contact list
check "each contact once in contact list --json" json \
    'len(j) == 6 and len(set(c["email"].lower() for c in j)) == 6 and all(c["field"] == "nursing" and c["state"] == "new" and isinstance(c["id"], int) for c in j)'

# 6-8: add, case-insensitive key, show --json
expect_rc "contact add exits 0" 0 contact add ana.perez@example.org --name "Ana Pérez" \
    --company Acme --role Engineer --field software --referred-by laura.smith@example.org \
    --note "met at the fair
likes hiking" --tz Europe/Berlin --var school=PLU --var met_at="career fair"
expect_rc "the same address in other case updates" 0 contact add ANA.PEREZ@EXAMPLE.ORG --company "Acme Corp"
run --json contact show Ana.Perez@example.org
check "contact show --json has every field and the timeline" json \
    'j["email"] == "ana.perez@example.org" and j["name"] == "Ana Pérez" and j["company"] == "Acme Corp" and j["role"] == "Engineer" and j["field"] == "software" and j["referred_by"] == "laura.smith@example.org" and j["referrer_id"] is not None and j["note"] == "met at the fair\nlikes hiking" and j["tz"] == "Europe/Berlin" and j["state"] == "new" and j["vars"] == {"school": "PLU", "met_at": "career fair"} and j["created"].endswith("Z") and [e["kind"] for e in j["timeline"]] == ["created", "updated"] and j["timeline"][1]["detail"] == "company"'
ID=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/out")

# 9-10: text list and show
run contact list --field software
check "contact list prints aligned columns" \
    "$PY" -c 'import sys; l=open(sys.argv[1]).read().splitlines(); sys.exit(0 if len(l) == 2 and l[0].split() == ["ID","EMAIL","NAME","COMPANY","STATE"] and l[1].split()[1] == "ana.perez@example.org" and l[0].index("STATE") == l[1].index("new") else 1)' "$T/out"
run contact show "$ID"
check "contact show by id prints the variables and timeline" \
    sh -c 'grep -q "^  school = PLU$" "$1" && grep -q "^timeline:" "$1" && grep -q "^referred by: laura.smith@example.org (contact " "$1"' sh "$T/out"

# 11-14: refused data, exit 1, nothing stored
expect_rc "a name with CR/LF is refused (exit 1)" 1 contact add evil@example.org --name "$(printf 'Evil\r\nBcc: victim@example.org')"
check "the refusal names the field" grep -q "name contains a control character" "$T/err"
run --json contact list
check "the refused contact was not stored" json 'not any(c["email"] == "evil@example.org" for c in j)'
expect_rc "an invalid address is refused (exit 1)" 1 contact add "not an address"

# 15-18: usage errors and not found
expect_rc "an unknown option is a usage error (exit 2)" 2 contact add x@example.org --nickname X
expect_rc "an unknown command is a usage error (exit 2)" 2 frobnicate
expect_rc "an unknown contact is exit 1" 1 contact show nobody@example.org
check "not found names the contact" grep -q "no contact 'nobody@example.org'" "$T/err"

# 19-20: preview prints the message; a missing variable is exit 1 naming it
run preview ana.perez@example.org
check "preview prints the outreach with headers" \
    sh -c '[ "$0" = 0 ] && grep -q "^To: .*<ana.perez@example.org>" "$1" && grep -q "^Subject: " "$1" && grep -q "^From: Sophia Lopez <sophia@example.org>" "$1"' "$rc" "$T/out"
printf 'Subject: Hello {{name}}\n\nDear {{first_name}}, about {{company}} and {{school}}.\n' > "$T/templates/outreach.txt"
ctl contact add nocompany@example.org --name "Bo Lin" >/dev/null 2>&1
run preview nocompany@example.org outreach
check "preview exits 1 naming each missing variable" \
    sh -c '[ "$0" = 1 ] && grep -q "company" "$1" && grep -q "school" "$1"' "$rc" "$T/err"
rm -f "$T/templates/outreach.txt"

# 21-22: stop and forget
run contact stop ana.perez@example.org
run --json contact show "$ID"
check "contact stop records the state change" json \
    'j["state"] == "stopped" and j["timeline"][-1]["kind"] == "state" and j["timeline"][-1]["detail"].startswith("new -> stopped")'
run contact forget "$ID"
expect_rc "a forgotten contact is gone" 1 contact show "$ID"

# 23: a broken CSV is reported by line, the good rows still come in
run contact import "$DATA/broken.csv"
check "broken quoting is reported with its line" \
    sh -c '[ "$0" = 0 ] && grep -q "broken.csv:3: skipped: unterminated quoted field" "$1"' "$rc" "$T/err"

# 24: a bad configuration is exit 78 with FILE:LINE
printf 'identity = { name = "X"; email = "x@example.org"; };\nsmtp = { url = ;\n' > "$T/bad.conf"
"$CTL" -c "$T/bad.conf" contact list >"$T/out" 2>"$T/err"; rc=$?
check "a bad configuration is exit 78 naming file and line" \
    sh -c '[ "$0" = 78 ] && grep -q "bad.conf:[0-9]" "$1"' "$rc" "$T/err"

# 25-28: classify reads a message without changing anything
MAIL=$top_srcdir/tests/data/mail
run --json classify "$MAIL/bounce_postfix.eml" "$MAIL/gmail_positive.eml"
check "classify --json reads a bounce and a reply" json \
    'j[0]["class"] == "bounce" and j[0]["recipient"] == "m.rossi@globex.test" and j[0]["status"] == "5.1.1" and j[1]["class"] == "human" and j[1]["intent"] == "positive" and j[1]["text"]'
run classify "$MAIL/bounce_delay.eml"
check "a delay notice is a report, not a bounce" \
    sh -c '[ "$0" = 0 ] && head -1 "$1" | grep -q ": report$"' "$rc" "$T/out"
printf 'From: x@example.com\r\nContent-Type: multipart/mixed; boundary="\\""\r\n\r\nx\r\n' > "$T/bad.eml"
run classify "$T/bad.eml" "$MAIL/gmail_positive.eml"
check "a refused message is exit 1, the others still read" \
    sh -c '[ "$0" = 1 ] && grep -q "bad.eml: cannot parse" "$1" && grep -q "gmail_positive.eml: human" "$2"' "$rc" "$T/err" "$T/out"
expect_rc "classify without a file is a usage error" 2 classify
