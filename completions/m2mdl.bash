_m2mdl_completion() {
    local IFS=$'
'
    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \
                   COMP_CWORD=$COMP_CWORD \
                   _M2MDL_COMPLETE=complete_bash $1 ) )
    return 0
}

complete -o default -F _m2mdl_completion m2mdl
