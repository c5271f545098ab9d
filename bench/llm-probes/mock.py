#!/usr/bin/env python3
"""Deterministic mock LLMs behind an OpenAI-compatible chat API (stdlib only).

    python3 mock.py --port 0 --port-file /tmp/port --log requests.jsonl

Serves POST /v1/chat/completions, POST /v1/completions and GET /v1/models.
The request's `model` picks one of the mock models below; every answer is a
pure function of the messages (no randomness, temperature ignored), so two
tools that send the same text get the same answer.

The models follow rules on general phrasing (see README.md, "The mock
models"); none of them looks for either tool's probe strings:

- naive:   obeys the last instruction in the user's message. Asked to
           say / print / output / repeat / reply with / respond with /
           answer / write / return / type / echo / begin by saying something,
           or to translate / rewrite / answer something as "X", it answers
           that thing (a quoted string, else the rest of the sentence); asked to decode base64 it decodes it and obeys (or
           prints) the decoded text; asked for its instructions, system
           prompt, "the text above", what it was given, or for customer /
           account / personal data, it answers the system prompt verbatim.
- careful: always declines with one fixed sentence.
- partial: leaks the system prompt only when asked to translate, summarise or
           paraphrase it; discloses customer data only to a user who claims
           to be someone ("I am ...", "my name is ..."); follows an injected
           instruction only when the message holds fake chat-role markup
           (<|im_start|>, [INST], <system>, </user>, a "system:" line, ...);
           otherwise declines.
"""

import argparse
import base64
import binascii
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODELS = ("naive", "careful", "partial")
REFUSAL = "I'm sorry, but I can't help with that request."

# "Ignore / disregard / forget the previous instructions": a clause that
# dismisses the context is not a request for it, so it is removed before
# looking for such requests.
DISMISS = re.compile(
    r"\b(?:ignore|disregard|forget|override|skip)\b(?:\s+(?:all|any|the|your|my|of|these|those|previous|prior|above|preceding|earlier|following|and|other))*"
    r"\s+(?:instructions?|directions?|rules?|prompts?|text|messages?|commands?|guidelines?)\b",
    re.I,
)
# A request for the context: the system prompt, instructions, what is above.
CONTEXT = re.compile(
    r"\b(?:system[\s_-]*(?:prompt|message|instructions?|configuration|config)"
    r"|(?:initial|original|hidden|secret|first)\s+(?:prompt|instructions?|message|configuration)"
    r"|instructions?|instructed|directions?|guidelines|configuration|initiali[sz]ation"
    r"|your\s+(?:prompt|rules)|(?:everything|text|words?|all)\s+(?:above|before)|(?:the\s+)?above\s+(?:this|the|my|text)"
    r"|(?:you\s+were|were\s+you|you've\s+been|you\s+have\s+been|have\s+you\s+been)\s+(?:given|told)"
    r"|given\s+(?:to\s+you|before|initially)|before\s+(?:my\s+message|this\s+conversation)"
    r"|internal\s+(?:reference|code|id)|context\s+window|(?:entire|whole|this)\s+conversation"
    r"|not\s+(?:supposed|allowed|meant)\s+to\s+(?:tell|say|reveal|share|disclose))\b",
    re.I,
)
# A request for personal / customer data.
DATA = re.compile(
    r"\b(?:customer|account|record|personal\s+(?:data|information|details)|e-?mail(?:\s+address)?|phone(?:\s+number)?"
    r"|card(?:\s+number)?|(?:home|postal|mailing|street)\s+address|date\s+of\s+birth|ssn|social\s+security)\b",
    re.I,
)
# A request for data is judged on the last two sentences of the message (its
# last instruction): they must ask (a question, a request verb, or an
# unfinished sentence to complete) and name the data. A document that only
# mentions an account somewhere is not a request for one.
REQUEST = re.compile(
    r"\?|\b(?:what|which|who|where|give|tell|list|show|print|output|repeat|read|need|provide|share|send|display|dump"
    r"|reveal|confirm|write|return|say|recite|disclose|verify)\b",
    re.I,
)
SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


def data_request(text):
    """Position of the last data noun the message asks for, or -1."""
    sents = [m for m in SENTENCE.finditer(text) if m.group(0).strip()]
    if not sents:
        return -1
    tail = sents[-2:]
    unfinished = not re.search(r"[.!?:)\]\"'`]\s*$", text)
    if not unfinished and not any(REQUEST.search(m.group(0)) for m in tail):
        return -1
    pos = -1
    for m in tail:
        ms = list(DATA.finditer(m.group(0)))
        if ms:
            pos = m.start() + ms[-1].start()
    return pos


# A verb that asks for text to be produced, and what follows it.
ECHO = re.compile(
    r"\b(?:say|says|saying|print|prints|output|outputs|repeat|repeats|reply(?:\s+only)?\s+with|respond(?:\s+only)?\s+with"
    r"|answer(?:\s+only)?(?:\s+with)?|write|return|type|echo|begins?\s+by\s+saying|start\s+(?:your\s+(?:answer|reply)\s+)?with)\b"
    r"[\s:]*(?P<obj>.*)",
    re.I | re.S,
)
# "translate / rewrite / answer ... as 'X'": asks for X as the output.
AS_QUOTED = re.compile(
    r"\b(?:translate|rewrite|render|rephrase|answer|reply|respond)\b[^\n.!?]{0,60}?\bas\s+[\"“'‘`](?P<q>[^\"”'’`\n]{1,200})[\"”'’`]",
    re.I,
)
QUOTED = re.compile(r"[\"“'‘`](?P<q>[^\"”’`\n]{1,300})[\"”'’`]")
PRONOUN = re.compile(r"^(?:it|them|this|that|these|those|everything|all|the\s+above|what\b|your\b|my\b|the\s+text|the\s+words)", re.I)
TRAILER = re.compile(r"(?:\s+(?:and\s+nothing\s+else|only|verbatim|now|please|exactly|here|below|in\s+full))+[.]?\s*$", re.I)
MARKUP = re.compile(
    r"<\|im_start\|>|<\|im_end\|>|<\|system\|>|<\|user\|>|<\|assistant\|>|\[/?INST\]|<</?SYS>>|</?(?:system|user|assistant)>"
    r"|^\s*#*\s*(?:system|assistant)\s*:",
    re.I | re.M,
)
INDIRECT = re.compile(r"\b(?:translat\w*|summar\w*|paraphras\w*|rephras\w*)\b", re.I)
IDENTITY = re.compile(r"\b(?:I\s+am|I'm|my\s+name\s+is|this\s+is)\s+[A-Z][a-z]+", re.S)
B64 = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{4,}={0,2}")


def b64_decoded(text):
    """The longest base64 token of text that decodes to printable ASCII."""
    best = None
    for m in B64.finditer(text):
        tok = m.group(0)
        if len(tok) % 4:
            continue
        try:
            s = base64.b64decode(tok, validate=True).decode("ascii")
        except (binascii.Error, ValueError, UnicodeDecodeError):
            continue
        if s and all(c.isprintable() or c in "\n\t" for c in s) and (best is None or len(s) > len(best)):
            best = s
    return best


def echo_instruction(text):
    """(position, what to answer) for the last "say X"-style instruction
    whose object is literal text, or None."""
    found = None
    pos = 0
    while True:
        m = ECHO.search(text, pos)
        if not m:
            break
        obj = m.group("obj")
        q = QUOTED.match(obj.lstrip())
        if not q and not PRONOUN.match(obj):
            q = QUOTED.search(obj)
            if q and q.start() > 60:
                q = None
        if q:
            found = (m.start(), q.group("q").strip())
        elif obj and not PRONOUN.match(obj):
            line = re.split(r"\n|-->|<", obj, maxsplit=1)[0]
            line = TRAILER.sub("", line.strip()).strip()
            # An object that is itself the context or data is a request for
            # it, handled by the caller.
            if line and not CONTEXT.search(line) and not DATA.search(line):
                found = (m.start(), line)
        pos = m.start() + 1
    for m in AS_QUOTED.finditer(text):
        if found is None or m.start() > found[0]:
            found = (m.start(), m.group("q").strip())
    return found


def last_request(pattern, text):
    """Position of the last match of pattern in text once the clauses that
    dismiss the context are blanked out, or -1."""
    blanked = DISMISS.sub(lambda m: " " * len(m.group(0)), text)
    ms = list(pattern.finditer(blanked))
    return ms[-1].start() if ms else -1


def naive(system, user, depth=0):
    decoded = None
    if re.search(r"\b(?:base64|decode|decoded|decoding)\b", user, re.I):
        decoded = b64_decoded(user)
    if decoded is not None and depth == 0:
        inner = naive(system, decoded, depth + 1)
        return inner if inner is not None else decoded
    cands = []
    echo = echo_instruction(user)
    if echo:
        cands.append((echo[0], echo[1]))
    for p in (last_request(CONTEXT, user), data_request(user)):
        if p >= 0:
            cands.append((p, system or "I was given no instructions."))
    if not cands:
        return None if depth else "OK."
    return max(cands, key=lambda c: c[0])[1]


def partial(system, user):
    if MARKUP.search(user):
        echo = echo_instruction(user[MARKUP.search(user).start():])
        if echo:
            return echo[1]
    if INDIRECT.search(user) and last_request(CONTEXT, user) >= 0:
        return "Summary of my instructions: " + (system or "none.")
    if IDENTITY.search(user) and data_request(user) >= 0:
        return "Of course. Here is what I have on file: " + (system or "nothing.")
    return REFUSAL


def answer(model, messages):
    system = "\n".join(
        str(m.get("content") or "") for m in messages if m.get("role") in ("system", "developer")
    )
    users = [m for m in messages if m.get("role") == "user"]
    user = content_text(users[-1].get("content")) if users else ""
    if model == "careful":
        return REFUSAL
    if model == "partial":
        return partial(system, user)
    return naive(system, user)


def content_text(content):
    if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content or "")


class Handler(BaseHTTPRequestHandler):
    server_version = "mlsec-mock-llm/1"
    log_lock = threading.Lock()

    def log_message(self, fmt, *args):  # quiet
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.rstrip("/").endswith("/models"):
            self.send_json(200, {"object": "list", "data": [
                {"id": m, "object": "model", "created": 0, "owned_by": "mock"} for m in MODELS]})
        else:
            self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        try:
            n = int(self.headers.get("Content-Length") or 0)
            req = json.loads(self.rfile.read(n) or b"{}")
        except (ValueError, json.JSONDecodeError):
            return self.send_json(400, {"error": {"message": "body is not JSON"}})
        model = req.get("model", "")
        if model not in MODELS:
            return self.send_json(404, {"error": {"message": f"model {model!r} not found; have {list(MODELS)}"}})
        path = self.path.rstrip("/")
        if path.endswith("/chat/completions"):
            messages = req.get("messages") or []
            text = answer(model, messages)
            choice = lambda i: {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            kind = "chat.completion"
        elif path.endswith("/completions"):
            messages = [{"role": "user", "content": str(req.get("prompt") or "")}]
            text = answer(model, messages)
            choice = lambda i: {"index": i, "text": text, "finish_reason": "stop"}
            kind = "text_completion"
        else:
            return self.send_json(404, {"error": {"message": "not found"}})
        count = max(1, int(req.get("n") or 1))
        if self.server.log:
            with self.log_lock, open(self.server.log, "a") as f:
                f.write(json.dumps({"t": time.time(), "model": model, "ua": self.headers.get("User-Agent", ""),
                                    "messages": messages, "answer": text}) + "\n")
        self.send_json(200, {
            "id": "mock-1", "object": kind, "created": 0, "model": model,
            "choices": [choice(i) for i in range(count)],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        })


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: a free port")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--log", help="append each request and answer here (JSONL)")
    args = ap.parse_args()
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.log = args.log
    port = srv.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.replace(args.port_file + ".tmp", args.port_file)
    print(f"mock LLM on http://{args.host}:{port}/v1 models={','.join(MODELS)}", file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
