# Sourced by build.sh and dist.sh: the one rule for SOURCE_DATE_EPOCH (reproducible
# builds), the date every file they write carries.
#
# check_source_date_epoch SCRIPT: empty means unset. A zip cannot hold a date
# before 1980 (shiv would crash): such a value is taken as 1980-01-01, the
# earliest it can, with a note naming SCRIPT, as wheel and flit do. One that is
# not a whole number of seconds, or past 2107 (the zip's last year; a value in
# milliseconds, say), is refused: one line, exit 2. Leaves it exported, in plain
# decimal, or unset.
zip_first=315532800  # 1980-01-01T00:00:00Z
zip_last=4354819199  # 2107-12-31T23:59:59Z
check_source_date_epoch() {
  if [[ -z ${SOURCE_DATE_EPOCH:-} ]]; then
    unset SOURCE_DATE_EPOCH
  elif [[ ! $SOURCE_DATE_EPOCH =~ ^[0-9]{1,18}$ ]] || (( 10#$SOURCE_DATE_EPOCH > zip_last )); then
    echo "$1: SOURCE_DATE_EPOCH: expected whole seconds since 1970 up to $zip_last (2107), got '$SOURCE_DATE_EPOCH'" >&2
    exit 2
  elif (( 10#$SOURCE_DATE_EPOCH < zip_first )); then
    echo "$1: SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH is before 1980, which a zip cannot hold: the build date is $zip_first (1980-01-01)" >&2
    export SOURCE_DATE_EPOCH=$zip_first
  else
    export SOURCE_DATE_EPOCH=$((10#$SOURCE_DATE_EPOCH))
  fi
}
