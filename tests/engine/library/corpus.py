"""Documents made on the fly for the library tests and benchmark: a field guide PDF with one
topic per page (so every question has a known page), bad PDFs of each kind, and small files of the
other formats. Also finds a real 100+ page PDF from a Debian documentation package."""

from __future__ import annotations

from pathlib import Path

# One topic per page: (heading, text). Page n of the guide is TOPICS[n - 1].
TOPICS: list[tuple[str, str]] = [
    (
        "Keeping honeybees",
        "A honeybee colony swarms in late spring when the hive grows crowded. The old queen leaves "
        "with about half of the worker bees and the colony raises a new queen from a royal cell. "
        "Beekeepers add an empty super before the main nectar flow to give the bees room.",
    ),
    (
        "Baking sourdough bread",
        "A sourdough starter is fed equal weights of flour and water once a day. The dough rises "
        "slowly because wild yeast and lactic acid bacteria work together; a long cold proof in "
        "the refrigerator overnight gives the loaf its sour taste and open crumb.",
    ),
    (
        "Bicycle chain care",
        "Clean and oil the bicycle chain every three hundred kilometres, or after any ride in the "
        "rain. Wipe off the extra lubricant, because oil left on the outside of the chain collects "
        "grit that wears the sprockets. A stretched chain should be replaced before it skips.",
    ),
    (
        "Brewing green tea",
        "Green tea tastes bitter when the water is too hot. Let boiled water cool to about eighty "
        "degrees Celsius and steep the leaves for two minutes. The same leaves can be infused a "
        "second and third time, a little longer each time.",
    ),
    (
        "Composting garden waste",
        "A compost heap works best with about thirty parts carbon to one part nitrogen: mix brown "
        "material such as dry leaves and cardboard with green grass clippings and kitchen peelings. "
        "Turn the heap every few weeks so air reaches the microbes in the middle.",
    ),
    (
        "Solar panel output",
        "Photovoltaic panels lose efficiency as they heat up: output falls by roughly zero point "
        "four percent for each degree above twenty-five degrees Celsius. Panels facing south at a "
        "tilt close to the local latitude collect the most energy over a year.",
    ),
    (
        "Sailing knots",
        "The bowline makes a fixed loop at the end of a rope that will not slip or jam, and it is "
        "easy to untie even after carrying a heavy load. Sailors tie a cleat hitch to secure a line "
        "to a cleat on the dock. Reference code QZV-7734-KR appears on the knot chart.",
    ),
    (
        "Backing up your files",
        "Follow the three-two-one rule for backups: keep three copies of your data, on two "
        "different kinds of storage, with one copy kept off site. Test a restore now and then, "
        "because a backup that cannot be restored is worth nothing.",
    ),
    (
        "Caring for cast iron pans",
        "Season a cast iron skillet by rubbing a thin layer of vegetable oil over it and baking it "
        "upside down in a hot oven for an hour. Dry the pan right after washing so it does not "
        "rust, and avoid soaking it in water overnight.",
    ),
    (
        "Watching meteor showers",
        "The Perseid meteor shower peaks around the twelfth of August each year. Find a dark place "
        "away from city lights, let your eyes adapt for twenty minutes, and look at the whole sky "
        "rather than through a telescope.",
    ),
    (
        "Growing tomatoes",
        "Tomato plants need at least six hours of direct sun a day. Water them deeply at the base "
        "rather than on the leaves to prevent blight, and pinch out the side shoots of cordon "
        "varieties so the plant puts its energy into the fruit.",
    ),
    (
        "Running your first marathon",
        "Most training plans for a first marathon last about sixteen to twenty weeks, building the "
        "weekly long run slowly up to around thirty-two kilometres. Taper for the final two weeks "
        "and practise drinking and eating on long runs before race day.",
    ),
]

# (question, page it is answered on). Paraphrased, not copied from the page.
QUESTIONS: list[tuple[str, int]] = [
    ("Why does a bee colony split and leave the hive?", 1),
    ("How often should I feed my bread starter?", 2),
    ("When do I need to lubricate my bike chain?", 3),
    ("What water temperature is best for green tea?", 4),
    ("What ratio of carbon to nitrogen makes good compost?", 5),
    ("How does heat affect photovoltaic efficiency?", 6),
    ("Which knot gives a loop that does not slip?", 7),
    ("How many copies of my data should I keep?", 8),
    ("How do I season a skillet?", 9),
    ("When is the best night to see the Perseids?", 10),
    ("How much sunlight do tomato plants need?", 11),
    ("How long should marathon training take?", 12),
]

# Questions the guide says nothing about.
UNANSWERABLE = [
    "What does this document say about the tax rules for cryptocurrency?",
    "Who won the football world cup in 1966?",
]

EXACT_TERM = "QZV-7734-KR"
EXACT_TERM_PAGE = 7


def guide_text(page: int) -> str:
    heading, text = TOPICS[page - 1]
    return f"{heading}\n{text}"


def write_guide_pdf(path: Path, with_outline: bool = True, repeat: int = 1) -> Path:
    """The field guide: one topic per page, headings in a larger font, optional outline.

    Args:
        repeat: Print the whole guide this many times (longer files for crash tests).
    """
    import pymupdf

    doc = pymupdf.open()
    toc = []
    for round_ in range(repeat):
        for heading, text in TOPICS:
            page = doc.new_page(width=595, height=842)
            page.insert_text((72, 90), heading, fontsize=20)
            body = text if round_ == 0 else f"{text} (Copy {round_ + 1}.)"
            page.insert_textbox(pymupdf.Rect(72, 120, 523, 780), body, fontsize=11)
            toc.append([1, heading, doc.page_count])
    if with_outline:
        doc.set_toc(toc)
    doc.save(path)
    doc.close()
    return path


def write_text_pdf(path: Path, pages: list[str], fontsize: float = 11) -> Path:
    import pymupdf

    doc = pymupdf.open()
    for text in pages:
        page = doc.new_page(width=595, height=842)
        page.insert_textbox(pymupdf.Rect(72, 72, 523, 780), text, fontsize=fontsize)
    doc.save(path)
    doc.close()
    return path


def write_encrypted_pdf(path: Path) -> Path:
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Secret plans for the garden shed.")
    doc.save(
        path,
        encryption=pymupdf.PDF_ENCRYPT_AES_256,
        user_pw="letmein",
        owner_pw="owner-secret",
    )
    doc.close()
    return path


def write_damaged_pdf(path: Path, source: Path) -> Path:
    """A real PDF cut to its first 200 bytes: the header survives, everything else is lost."""
    path.write_bytes(source.read_bytes()[:200])
    return path


def write_image_only_pdf(path: Path, pages: int = 2) -> Path:
    """Pages that carry only a picture, like a scan without OCR."""
    import pymupdf

    doc = pymupdf.open()
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 64), False)
    pixmap.set_rect(pixmap.irect, (200, 180, 120))
    for _ in range(pages):
        page = doc.new_page()
        page.insert_image(pymupdf.Rect(72, 72, 400, 400), pixmap=pixmap)
    doc.save(path)
    doc.close()
    return path


def write_mixed_pdf(path: Path) -> Path:
    """Page 1 has text, page 2 only a picture."""
    import pymupdf

    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "Only the first page of this file has a text layer.")
    pixmap = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 32, 32), False)
    pixmap.set_rect(pixmap.irect, (10, 20, 30))
    doc.new_page().insert_image(pymupdf.Rect(72, 72, 300, 300), pixmap=pixmap)
    doc.save(path)
    doc.close()
    return path


def write_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("Harbour guide", level=1)
    document.add_paragraph("The harbour master opens the lock gates two hours before high tide.")
    document.add_heading("Mooring fees", level=2)
    document.add_paragraph("Visiting boats pay eighteen euros a night for a pontoon berth.")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Fuel dock"
    table.cell(0, 1).text = "open 8:00-18:00"
    table.cell(1, 0).text = "Showers"
    table.cell(1, 1).text = "code 4419"
    document.save(path)
    return path


HTML_SAMPLE = """<!doctype html><html><head><title>Garden notes</title>
<style>body { color: red }</style><script>var hidden = "do not index";</script></head>
<body><h1>Garden notes</h1><p>Plant garlic cloves in <b>autumn</b>, pointed end up.</p>
<h2>Pests</h2><ul><li>Slugs love young lettuce.</li><li>Aphids gather on roses.</li></ul>
<!-- a comment that is not text --></body></html>"""

MARKDOWN_SAMPLE = """# Workshop rules

Wear safety glasses at the lathe.

## Cleaning up

Sweep the floor and empty the dust extractor at the end of each day.

Setext title
============

Tools go back on the pegboard.
"""


def find_real_pdf(min_pages: int = 100) -> Path | None:
    """A real manual with at least `min_pages` pages from a Debian documentation package.

    gnuplot-doc ships /usr/share/doc/gnuplot/gnuplot.pdf (311 pages); install it with
    `apt-get install gnuplot-doc`. HEARTH_REAL_PDF names another file to use.
    """
    import os

    candidates = [os.environ.get("HEARTH_REAL_PDF", ""), "/usr/share/doc/gnuplot/gnuplot.pdf"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            import pymupdf

            with pymupdf.open(candidate) as doc:
                if doc.page_count >= min_pages:
                    return Path(candidate)
    return None


# Questions on the real manual (gnuplot 5.4 documentation, Debian's gnuplot-doc) with the pages of
# the sections that answer them, taken from the PDF's outline.
REAL_PDF_QUESTIONS: list[tuple[str, set[int]]] = [
    ("How do I use a logarithmic scale on an axis?", {167, 168}),
    ("How can I put several plots on one page?", {172, 173, 174}),
    ("How do I fit a function to my data with least squares?", {91, 92, 93, 148, 149, 150}),
    ("How do I draw an arrow on the graph?", {62, 131, 132}),
    ("How do I change the range shown on the x axis?", {216, 217}),
    ("How do I read dates and times from a data file?", {209, 210, 214}),
    ("How do I get the mean and standard deviation of a data column?", {232, 233}),
    ("How do I make a bar chart of grouped data?", {71, 72, 73, 74}),
    ("How do I move the legend box to another corner?", {158, 159, 160}),
    ("How do I choose the colour gradient used for pm3d surfaces?", {181, 182, 183}),
]
