# >>> cloisterctl >>> (managed by `cloisterctl install beads-hooks`; `cloisterctl uninstall beads-hooks` removes it)
cloister_in=$(mktemp "${TMPDIR:-/tmp}/cloister-beads.XXXXXX") && {
    cat > "$cloister_in"
    # By name, and nothing at all where there is no cloisterctl (a teammate without it).
    if @GUARD@; then @CLOISTERCTL@ hook beads "$1" "$2" < "$cloister_in" > /dev/null 2>&1 || true; fi
    exec < "$cloister_in"
    rm -f "$cloister_in"
}
@CHAINED@
# <<< cloisterctl <<<
