# >>> cloisterctl >>> (managed by `cloisterctl install beads-hooks`; `cloisterctl uninstall beads-hooks` removes it)
cloister_in=$(mktemp "${TMPDIR:-/tmp}/cloister-beads.XXXXXX") && {
    cat > "$cloister_in"
    @CLOISTERCTL@ hook beads "$1" "$2" < "$cloister_in" > /dev/null 2>&1 || true
    exec < "$cloister_in"
    rm -f "$cloister_in"
}
@CHAINED@
# <<< cloisterctl <<<
