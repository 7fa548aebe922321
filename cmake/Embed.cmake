# Embed a text file of the tree into C at build time:
#   cmake -DIN=FILE -DOUT=FILE.c -DNAME=symbol -P Embed.cmake
# OUT defines "const char NAME[]" (NUL-terminated) and
# "const size_t NAME_len" (without the NUL).  Guest scripts live in the
# tree as the files they are (shellcheck reads them there), not as C
# string literals.
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)"
       "\\1\n" bytes "${bytes}")
get_filename_component(base "${IN}" NAME)
file(WRITE "${OUT}.tmp"
"/* Generated from ${base} by cmake/Embed.cmake; do not edit. */\n"
"#include <stddef.h>\n"
"extern const char ${NAME}[];\n"
"extern const size_t ${NAME}_len;\n"
"const char ${NAME}[] = {\n${bytes}0x00\n};\n"
"const size_t ${NAME}_len = ${len};\n")
file(RENAME "${OUT}.tmp" "${OUT}")
