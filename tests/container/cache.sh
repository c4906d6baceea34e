# Sourced by the scripts that make the roots' tarballs, which are cached.
# cache_lookup PATH_WITHOUT_SUFFIX < KEY_TEXT (not in a pipe: it may exit):
# tarball=PATH-HASH.tar, HASH of what makes it; if that is there, print it, exit.
cache_lookup() {
  tarball=$1-$(sha256sum | cut -c1-16).tar
  if [[ -s $tarball ]]; then
    echo "$tarball"
    exit 0
  fi
}

# cache_store DIR: DIR's tree becomes $tarball (whole, or not at all), in place
# of the ones made before by other scripts or versions; print it.
cache_store() {
  tar -C "$1" -cf "$tarball.partial" .
  mv "$tarball.partial" "$tarball"
  for old in "${tarball%-*}"-*.tar; do
    [[ $old == "$tarball" ]] || rm -f "$old"
  done
  echo "$tarball"
}
