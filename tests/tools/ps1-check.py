#!/usr/bin/env python3
"""Is a PowerShell script well formed, as far as we can tell without
PowerShell (none is packaged for Debian)?

    ps1-check.py FILE

ASCII only (PowerShell 2.0 reads a script without a BOM as ANSI), and
every (, { and [ closed in order outside strings and comments, every
string closed.  Prints the first problem and exits 1.
"""
import sys


def check(text):
    if any(ord(c) > 126 or (ord(c) < 32 and c not in "\t\r\n") for c in text):
        return "not plain ASCII"
    stack, i, line = [], 0, 1
    pairs = {")": "(", "}": "{", "]": "["}
    while i < len(text):
        c = text[i]
        if c == "\n":
            line += 1
        elif c == "#":
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        elif c == "'":
            start = line
            i += 1
            while True:
                if i >= len(text):
                    return f"line {start}: a '...' string is not closed"
                if text[i] == "'" and text[i + 1:i + 2] == "'":
                    i += 2
                    continue
                if text[i] == "'":
                    break
                line += text[i] == "\n"
                i += 1
        elif c == '"':
            start = line
            i += 1
            while True:
                if i >= len(text):
                    return f"line {start}: a \"...\" string is not closed"
                if text[i] == "`":
                    i += 2
                    continue
                if text[i] == '"':
                    break
                line += text[i] == "\n"
                i += 1
        elif c in "({[":
            stack.append((c, line))
        elif c in ")}]":
            if not stack or stack[-1][0] != pairs[c]:
                return f"line {line}: {c} closes nothing"
            stack.pop()
        i += 1
    if stack:
        return f"line {stack[-1][1]}: {stack[-1][0]} is never closed"
    return None


if __name__ == "__main__":
    with open(sys.argv[1], encoding="latin-1") as f:
        problem = check(f.read())
    if problem:
        print(f"{sys.argv[1]}: {problem}")
        sys.exit(1)
