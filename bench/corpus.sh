#!/bin/sh
# corpus.sh - measures how infoviewd reads mail written by others, with
# `infoviewctl classify`, and prints the figures beside their goals:
#   sisimai/set-of-emails    bounces: classified as bounce, right recipient
#                            (labels from p5-sisimai run on the same files)
#   github/email_reply_parser, mailgun/talon   visible text of replies
# The checkouts stay outside this repository (see bench/README):
#   bench/corpus.sh /work/corpora/set-of-emails /work/corpora/p5-sisimai \
#       /work/corpora/email_reply_parser /work/corpora/talon
# IV_BUILD=DIR names the build (default: ../build next to bench/).
# CORPUS_VERBOSE=1 lists every miss.
here=$(cd "$(dirname "$0")" && pwd)
exec /usr/bin/python3 "$here/corpus.py" "$@"
