#!/usr/bin/env python3
"""Reference tokenizers used to generate testdata/extra-cases.json.

This is OpenAI CLIP's simple_tokenizer.py (without ftfy: NFC instead, as
../shared/README.md describes the reference) and Chinese-CLIP's BERT
FullTokenizer (basic tokenisation + greedy WordPiece), transcribed from the
upstream sources. It needs the `regex` module (as the original does).

Usage: python3 reference.py SHARED_TOKENIZERS_DIR STRINGS.json OUT.json
"""
import gzip
import html
import json
import sys
import unicodedata

import regex as re


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    cs = [chr(n) for n in cs]
    return dict(zip(bs, cs))


def get_pairs(word):
    pairs = set()
    prev_char = word[0]
    for char in word[1:]:
        pairs.add((prev_char, char))
        prev_char = char
    return pairs


def basic_clean(text):
    text = unicodedata.normalize("NFC", text)  # stands in for ftfy.fix_text
    text = html.unescape(html.unescape(text))
    return text.strip()


def whitespace_clean(text):
    text = re.sub(r"\s+", " ", text)
    text = text.strip()
    return text


class SimpleTokenizer(object):
    def __init__(self, bpe_path):
        self.byte_encoder = bytes_to_unicode()
        merges = gzip.open(bpe_path).read().decode("utf-8").split("\n")
        merges = merges[1:49152 - 256 - 2 + 1]
        merges = [tuple(merge.split()) for merge in merges]
        vocab = list(bytes_to_unicode().values())
        vocab = vocab + [v + "</w>" for v in vocab]
        for merge in merges:
            vocab.append("".join(merge))
        vocab.extend(["<|startoftext|>", "<|endoftext|>"])
        self.encoder = dict(zip(vocab, range(len(vocab))))
        self.bpe_ranks = dict(zip(merges, range(len(merges))))
        self.cache = {"<|startoftext|>": "<|startoftext|>", "<|endoftext|>": "<|endoftext|>"}
        self.pat = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", re.IGNORECASE)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = get_pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(pair, float("inf")))
            if bigram not in self.bpe_ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                    new_word.extend(word[i:j])
                    i = j
                except ValueError:
                    new_word.extend(word[i:])
                    break
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        word = " ".join(word)
        self.cache[token] = word
        return word

    def encode(self, text):
        bpe_tokens = []
        text = whitespace_clean(basic_clean(text)).lower()
        for token in re.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            bpe_tokens.extend(self.encoder[t] for t in self.bpe(token).split(" "))
        return bpe_tokens

    def tokenize(self, text, context_length=77):
        sot, eot = self.encoder["<|startoftext|>"], self.encoder["<|endoftext|>"]
        tokens = [sot] + self.encode(text) + [eot]
        if len(tokens) > context_length:
            tokens = tokens[:context_length]
            tokens[-1] = eot
        return tokens


def _is_whitespace(char):
    if char in " \t\n\r":
        return True
    return unicodedata.category(char) == "Zs"


def _is_control(char):
    if char in "\t\n\r":
        return False
    return unicodedata.category(char).startswith("C")


def _is_punctuation(char):
    cp = ord(char)
    if (33 <= cp <= 47) or (58 <= cp <= 64) or (91 <= cp <= 96) or (123 <= cp <= 126):
        return True
    return unicodedata.category(char).startswith("P")


def _is_chinese_char(cp):
    return ((0x4E00 <= cp <= 0x9FFF) or (0x3400 <= cp <= 0x4DBF) or (0x20000 <= cp <= 0x2A6DF)
            or (0x2A700 <= cp <= 0x2B73F) or (0x2B740 <= cp <= 0x2B81F) or (0x2B820 <= cp <= 0x2CEAF)
            or (0xF900 <= cp <= 0xFAFF) or (0x2F800 <= cp <= 0x2FA1F))


class BertTokenizer(object):
    def __init__(self, vocab_path):
        self.vocab = {}
        with open(vocab_path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                self.vocab[line.rstrip("\n")] = i

    def basic(self, text):
        out = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            out.append(" " if _is_whitespace(ch) else ch)
        text = "".join(out)
        out = []
        for ch in text:
            if _is_chinese_char(ord(ch)):
                out.extend([" ", ch, " "])
            else:
                out.append(ch)
        text = "".join(out)
        split_tokens = []
        for token in text.strip().split():
            token = token.lower()
            token = "".join(c for c in unicodedata.normalize("NFD", token) if unicodedata.category(c) != "Mn")
            words, start_new = [], True
            for ch in token:
                if _is_punctuation(ch):
                    words.append([ch])
                    start_new = True
                else:
                    if start_new:
                        words.append([])
                    start_new = False
                    words[-1].append(ch)
            split_tokens.extend("".join(w) for w in words)
        return " ".join(split_tokens).strip().split()

    def wordpiece(self, tokens):
        out = []
        for token in tokens:
            chars = list(token)
            if len(chars) > 100:
                out.append("[UNK]")
                continue
            start, subs, bad = 0, [], False
            while start < len(chars):
                end, cur = len(chars), None
                while start < end:
                    s = "".join(chars[start:end])
                    if start > 0:
                        s = "##" + s
                    if s in self.vocab:
                        cur = s
                        break
                    end -= 1
                if cur is None:
                    bad = True
                    break
                subs.append(cur)
                start = end
            out.extend(["[UNK]"] if bad else subs)
        return out

    def tokenize(self, text, context_length=52):
        ids = [self.vocab[t] for t in self.wordpiece(self.basic(text))]
        return [self.vocab["[CLS]"]] + ids[:context_length - 2] + [self.vocab["[SEP]"]]


def main():
    shared, strings_path, out_path = sys.argv[1:4]
    clip = SimpleTokenizer(shared + "/bpe_simple_vocab_16e6.txt.gz")
    bert = BertTokenizer(shared + "/chinese-clip-vocab.txt")
    with open(shared + "/token-ids.json", encoding="utf-8") as f:
        ref = json.load(f)
    for c in ref["clip_bpe"]["cases"]:
        assert clip.tokenize(c["text"]) == c["ids"], c["text"]
    for c in ref["cn_wordpiece"]["cases"]:
        assert bert.tokenize(c["text"]) == c["ids"], c["text"]
    with open(strings_path, encoding="utf-8") as f:
        strings = json.load(f)
    out = {
        "generator": "testdata/reference.py (simple_tokenizer.py without ftfy; Chinese-CLIP BERT tokenizer)",
        "clip_bpe": [{"text": s, "ids": clip.tokenize(s)} for s in strings],
        "cn_wordpiece": [{"text": s, "ids": bert.tokenize(s)} for s in strings],
    }
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
