"""Checks the links of a built mdBook: check_book_links.py BOOK_DIR REPO_URL REPO_ROOT.

Every href/src in every HTML page (made by mdBook from docs/) must resolve: a local file (and its #anchor,
when it names one) inside BOOK_DIR, or, for links that start with REPO_URL,
a file of REPO_ROOT. Other external links are only counted. Exits 1 and names
each broken link otherwise."""

import html.parser
import os
import sys
import urllib.parse


class Page(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)
            if name in ("href", "src") and value:
                self.links.append(value)


def parse(path, cache={}):
    if path not in cache:
        page = Page()
        with open(path, encoding="utf-8") as f:
            page.feed(f.read())
        cache[path] = page
    return cache[path]


def main():
    book, repo_url, repo_root = sys.argv[1], sys.argv[2], sys.argv[3]
    broken, checked, external = [], 0, 0
    pages = [os.path.join(d, f) for d, _, fs in os.walk(book) for f in fs if f.endswith(".html")]
    for page_path in sorted(pages):
        for link in parse(page_path).links:
            checked += 1
            if link.startswith(repo_url):
                path = urllib.parse.unquote(link[len(repo_url) :].split("#")[0])
                if not os.path.exists(os.path.join(repo_root, path)):
                    broken.append(f"{page_path}: {link} (no {path} in the repository)")
                continue
            parts = urllib.parse.urlsplit(link)
            if parts.scheme or link.startswith("//"):
                external += 1
                continue
            target = page_path
            if parts.path:
                # An absolute path (the 404 page's links) is relative to the site root.
                base = book if parts.path.startswith("/") else os.path.dirname(page_path)
                target = os.path.normpath(os.path.join(base, urllib.parse.unquote(parts.path).lstrip("/")))
                if os.path.isdir(target):
                    target = os.path.join(target, "index.html")
            if not os.path.exists(target):
                broken.append(f"{page_path}: {link} (no such file)")
            elif parts.fragment and target.endswith(".html") and urllib.parse.unquote(parts.fragment) not in parse(target).ids:
                broken.append(f"{page_path}: {link} (no #{parts.fragment} in {os.path.basename(target)})")
    print(f"book links: {len(pages)} pages, {checked} links, {external} external not fetched, {len(broken)} broken")
    for b in broken:
        print("broken:", b, file=sys.stderr)
    sys.exit(1 if broken or not pages else 0)


if __name__ == "__main__":
    main()
