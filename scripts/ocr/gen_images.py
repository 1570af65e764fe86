#!/usr/bin/python3
"""gen_images.py: render the OCR test images (Chinese and English text) and
their ground truth.

    /usr/bin/python3 scripts/ocr/gen_images.py OUT [--scale N] [--seed S] [--fixtures | --twins N | --tour]

writes OUT/<name>.png|jpg and OUT/manifest.jsonl, one JSON object per image:

    {"file": "figure-003.jpg", "kind": "figure", "width": 960, "height": 720,
     "group": "", "lines": [{"text": "断裂体系叠合图", "lang": "zh",
     "box": [[x, y], [x, y], [x, y], [x, y]]}, ...]}

Each box is the tight box of the rendered text (clockwise from the top-left,
rotated with the image). Kinds:

  line        1-4 lines on a plain background: several fonts, 16-60 px, dark on
              light or light on dark, rotation up to +-6 degrees, blur, JPEG, noise
  photobg     lines over a noisy, photo-like background
  figure      a figure-like drawing (map, faults, curves, axes with tick labels)
              with a Chinese title, an English caption and a legend
  screenshot  an application window: title bar, menu, sidebar, heading,
              paragraph, buttons (light or dark theme), about one megapixel
  twin        one drawing with different titles: the title is the only thing
              that tells them apart (for the retrieval benchmark)
  notext      photo-like images and drawings without any text

--scale N multiplies the number of images of each kind (default 1: 120
images). --fixtures writes the small set committed under
embed/ocr/testdata/ instead (plus an EXIF-rotated JPEG).

Fonts come from Debian packages: fonts-wqy-zenhei, fonts-wqy-microhei,
fonts-noto-cjk, fonts-liberation2, fonts-dejavu-core. Needs Pillow
(python3-pil). Output depends only on the seed, the fonts and Pillow.
"""
import argparse
import io
import json
import math
import os
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont

WQY = "/usr/share/fonts/truetype/wqy/"
NOTO = "/usr/share/fonts/opentype/noto/"
LIB = "/usr/share/fonts/truetype/liberation2/"
DEJAVU = "/usr/share/fonts/truetype/dejavu/"

# (path, index): CJK fonts also render Latin text.
ZH_FONTS = [
    (WQY + "wqy-zenhei.ttc", 0),
    (WQY + "wqy-microhei.ttc", 0),
    (NOTO + "NotoSansCJK-Regular.ttc", 2),
    (NOTO + "NotoSansCJK-Bold.ttc", 2),
    (NOTO + "NotoSerifCJK-Regular.ttc", 2),
    (NOTO + "NotoSerifCJK-Bold.ttc", 2),
]
EN_FONTS = [
    (LIB + "LiberationSans-Regular.ttf", 0),
    (LIB + "LiberationSans-Bold.ttf", 0),
    (LIB + "LiberationSerif-Regular.ttf", 0),
    (LIB + "LiberationSerif-Bold.ttf", 0),
    (LIB + "LiberationMono-Regular.ttf", 0),
    (DEJAVU + "DejaVuSans.ttf", 0),
    (WQY + "wqy-microhei.ttc", 0),
    (NOTO + "NotoSansCJK-Regular.ttc", 2),
]

ZH_TITLES = [
    "断裂体系叠合图", "顶面构造图", "沉积相平面图", "地震剖面解释图", "储层孔隙度分布图",
    "油气藏剖面图", "地层厚度等值线图", "构造演化示意图", "钻井位置分布图", "区域地质简图",
    "砂体厚度分布图", "烃源岩评价图", "测井曲线对比图", "含油饱和度平面图", "渗透率分布图",
    "地震属性平面图", "断层封闭性分析图", "古地貌恢复图", "生产动态曲线图", "岩性组合剖面图",
]
ZH_TEXT = [
    "今天天气很好", "欢迎使用本系统", "请输入用户名和密码", "数据分析报告", "第三季度销售额增长百分之十二",
    "会议将于下午三点开始", "北京市海淀区中关村大街", "注意安全小心地滑", "禁止吸烟", "人工智能与机器学习",
    "图像检索系统", "文件已保存", "网络连接失败请重试", "上海浦东国际机场", "中国科学院地质研究所",
    "研究区位于盆地东部", "主要发育三组断裂", "本文提出了一种新方法", "实验结果表明该方法有效",
    "长江是中国最长的河流", "深度三千五百米", "第二章研究方法", "地质调查报告", "春眠不觉晓",
    "处处闻啼鸟", "夜来风雨声", "花落知多少", "图书馆开放时间", "出口在左侧", "请保持安静",
    "系统设置", "用户管理", "最近打开的文件", "搜索结果", "共找到十二张图片", "点击这里下载",
    "版本更新说明", "数据来源于野外调查", "样品采集地点", "实验室分析结果",
]
ZH_LEGEND = ["断层", "井位", "等值线", "砂岩", "泥岩", "灰岩", "背斜", "向斜", "油田", "气田", "剖面线", "工区边界"]
EN_TEXT = [
    "Fault system overlay map", "Top structure map", "Sedimentary facies map", "Seismic section interpretation",
    "Porosity distribution of the reservoir", "Cross section of the oil reservoir", "Isopach map of the formation",
    "Structural evolution diagram", "Well location map", "Regional geological sketch",
    "The quick brown fox jumps over the lazy dog", "Welcome to the image search demo",
    "Please enter your user name and password", "Quarterly revenue grew by 12 percent",
    "Meeting starts at 3 PM in Room 204", "No smoking", "Machine learning and computer vision",
    "File saved successfully", "Network error, please try again", "Total: 1,284 images indexed",
    "Version 2.4.1 released on May 5", "Temperature rises with depth", "Data were collected from 36 wells",
    "Open the settings to change the theme", "Keep this door closed", "Emergency exit only",
    "Annual report 2023", "Customer satisfaction survey", "Results are shown in Table 2",
    "Contact us at support@example.com", "Press Enter to continue", "Loading, please wait",
    "Source: field survey, 2021", "Scale 1:50000", "Depth below sea level (m)",
]
EN_LEGEND = ["Fault", "Well", "Contour", "Sandstone", "Mudstone", "Limestone", "Anticline", "Oil field",
             "Gas field", "Section line", "Survey boundary"]
EN_CAPTIONS = [
    "Figure {n}. Fault system overlay map of the eastern basin",
    "Figure {n}. Top structure map of the reservoir",
    "Figure {n}. Distribution of sand bodies in the study area",
    "Figure {n}. Seismic attributes along the main faults",
    "Fig. {n} Porosity and permeability of core samples",
    "Figure {n}. Thickness of the formation in meters",
]
MENU_EN = ["File", "Edit", "View", "Search", "Tools", "Help"]
MENU_ZH = ["文件", "编辑", "视图", "搜索", "工具", "帮助"]
SIDEBAR_EN = ["Home", "Recent", "Photos", "Documents", "Shared", "Settings", "Trash"]
SIDEBAR_ZH = ["首页", "最近", "照片", "文档", "共享", "设置", "回收站"]
BUTTONS_EN = ["Save", "Cancel", "Open", "Delete", "Export"]
BUTTONS_ZH = ["确定", "取消", "打开", "删除", "导出"]

_font_cache = {}


def font(spec, size):
    key = (spec, size)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(spec[0], size, index=spec[1])
    return _font_cache[key]


def lang_of(text):
    return "zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en"


class Canvas:
    """An image and the ground-truth lines drawn on it."""

    def __init__(self, w, h, bg):
        self.img = Image.new("RGB", (w, h), bg)
        self.draw = ImageDraw.Draw(self.img)
        self.lines = []

    def text(self, xy, text, spec, size, fill, stroke=0, stroke_fill=None, record=True):
        f = font(spec, size)
        self.draw.text(xy, text, font=f, fill=fill, stroke_width=stroke, stroke_fill=stroke_fill)
        if record:
            x0, y0, x1, y1 = self.draw.textbbox(xy, text, font=f)
            self.lines.append({"text": text, "lang": lang_of(text),
                               "box": [[x0, y0], [x1, y0], [x1, y1], [x0, y1]]})
        return self.draw.textbbox(xy, text, font=f, stroke_width=stroke)

    def size(self, text, spec, size):
        x0, y0, x1, y1 = self.draw.textbbox((0, 0), text, font=font(spec, size))
        return x1 - x0, y1 - y0, x0, y0

    def rotate(self, deg, bg):
        """Rotates the image about its centre (counter-clockwise on screen)
        and the boxes with it."""
        if deg == 0:
            return
        self.img = self.img.rotate(deg, resample=Image.BICUBIC, expand=False, fillcolor=bg)
        self.draw = ImageDraw.Draw(self.img)
        t = math.radians(deg)
        c, s = math.cos(t), math.sin(t)
        cx, cy = self.img.width / 2, self.img.height / 2
        for ln in self.lines:
            ln["box"] = [[cx + (x - cx) * c + (y - cy) * s, cy - (x - cx) * s + (y - cy) * c] for x, y in ln["box"]]


def degrade(rng, img, blur_p=0.3, noise_p=0.2):
    if rng.random() < blur_p:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.4, 1.1)))
    if rng.random() < noise_p:
        noise = Image.effect_noise(img.size, rng.uniform(20, 50)).convert("RGB")
        img = Image.blend(img, noise, rng.uniform(0.05, 0.12))
    return img


def photo_background(rng, w, h):
    """A smooth, noisy, photo-like picture: a gradient, blurred blobs, grain."""
    c0 = tuple(rng.randrange(256) for _ in range(3))
    c1 = tuple(rng.randrange(256) for _ in range(3))
    grad = Image.linear_gradient("L").resize((w, h)).rotate(rng.uniform(0, 360), resample=Image.BICUBIC, expand=False,
                                                            fillcolor=128)
    img = Image.composite(Image.new("RGB", (w, h), c0), Image.new("RGB", (w, h), c1), grad)
    d = ImageDraw.Draw(img)
    for _ in range(rng.randrange(6, 16)):
        x, y = rng.randrange(-w // 4, w), rng.randrange(-h // 4, h)
        rw, rh = rng.randrange(w // 10, w // 2), rng.randrange(h // 10, h // 2)
        col = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.6:
            d.ellipse([x, y, x + rw, y + rh], fill=col)
        else:
            d.polygon([(x + rng.randrange(rw), y + rng.randrange(rh)) for _ in range(5)], fill=col)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(6, 18)))
    noise = Image.effect_noise((w, h), rng.uniform(30, 60)).convert("RGB")
    return Image.blend(img, noise, rng.uniform(0.06, 0.15))


def pick_text(rng, lang):
    if lang == "zh":
        t = rng.choice(ZH_TEXT + ZH_TITLES)
        if rng.random() < 0.15:
            t = "图" + str(rng.randrange(1, 20)) + " " + t
        return t
    return rng.choice(EN_TEXT)


def colours(rng):
    """Text and background: dark on light (70 %) or light on dark."""
    dark = tuple(rng.randrange(0, 70) for _ in range(3))
    light = tuple(rng.randrange(200, 256) for _ in range(3))
    return (dark, light) if rng.random() < 0.7 else (light, dark)


def gen_line(rng, i):
    lang = rng.choice(["zh", "en", "mixed"])
    n = rng.randrange(1, 5)
    fg, bg = colours(rng)
    items = []
    for k in range(n):
        lg = lang if lang != "mixed" else ("zh" if k % 2 == 0 else "en")
        spec = rng.choice(ZH_FONTS if lg == "zh" else EN_FONTS)
        items.append((pick_text(rng, lg), spec, rng.randrange(16, 61)))
    tmp = Canvas(8, 8, bg)
    sizes = [tmp.size(t, s, z) for t, s, z in items]
    margin = rng.randrange(16, 48)
    gap = [int(z * rng.uniform(0.4, 1.0)) for _, _, z in items]
    w = max(sw for sw, _, _, _ in sizes) + 2 * margin
    h = sum(sh for _, sh, _, _ in sizes) + sum(gap) + 2 * margin
    deg = rng.uniform(-6, 6) if rng.random() < 0.5 else 0
    # Room for the rotation.
    pad = int(math.sin(math.radians(abs(deg))) * w / 2) + 4
    padx = int(math.sin(math.radians(abs(deg))) * h / 2) + 4
    w, h = w + 2 * padx, h + 2 * pad
    c = Canvas(w, h, bg)
    y = margin + pad
    for (t, s, z), (sw, sh, ox, oy), g in zip(items, sizes, gap):
        x = margin + padx + rng.randrange(0, max(1, w - 2 * (margin + padx) - sw + 1))
        c.text((x - ox, y - oy), t, s, z, fg)
        y += sh + g
    c.rotate(deg, bg)
    img = degrade(rng, c.img)
    return img, c.lines, rng.random() < 0.4


def gen_photobg(rng, i):
    w, h = rng.choice([(640, 480), (800, 600), (960, 640), (768, 512)])
    img = photo_background(rng, w, h)
    c = Canvas(w, h, (0, 0, 0))
    c.img = img
    c.draw = ImageDraw.Draw(img)
    used = []
    for _ in range(rng.randrange(1, 4)):
        lg = rng.choice(["zh", "en"])
        spec = rng.choice(ZH_FONTS if lg == "zh" else EN_FONTS)
        z = rng.randrange(24, 61)
        t = pick_text(rng, lg)
        sw, sh, ox, oy = c.size(t, spec, z)
        if sw > w - 40:
            continue
        for _try in range(20):
            x, y = rng.randrange(20, w - sw - 20 + 1), rng.randrange(20, h - sh - 20 + 1)
            if all(y + sh + 12 < uy or y > uy + uh + 12 for uy, uh in used):
                break
        else:
            continue
        used.append((y, sh))
        region = img.crop((x, y, x + sw, y + sh)).convert("L")
        lum = sum(region.getdata()) / max(1, sw * sh)
        fg = (250, 250, 250) if lum < 128 else (10, 10, 10)
        stroke = 2 if rng.random() < 0.5 else 0
        c.text((x - ox, y - oy), t, spec, z, fg, stroke=stroke,
               stroke_fill=(0, 0, 0) if fg[0] > 128 else (255, 255, 255))
    img = degrade(rng, c.img, blur_p=0.2, noise_p=0.0)
    return img, c.lines, rng.random() < 0.6


def draw_figure_body(rng, d, box):
    """A map-like drawing inside box: filled regions, contour curves, faults,
    wells, and a frame with ticks (labels are drawn by the caller)."""
    x0, y0, x1, y1 = box
    for _ in range(rng.randrange(3, 7)):
        col = tuple(rng.randrange(170, 250) for _ in range(3))
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        r = rng.uniform(40, 160)
        pts = [(cx + r * rng.uniform(0.6, 1.3) * math.cos(a), cy + r * rng.uniform(0.6, 1.3) * math.sin(a))
               for a in [k * math.pi / 5 for k in range(10)]]
        pts = [(min(max(px, x0), x1), min(max(py, y0), y1)) for px, py in pts]
        d.polygon(pts, fill=col, outline=(120, 120, 120))
    for _ in range(rng.randrange(3, 8)):
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        r = rng.uniform(30, 120)
        d.ellipse([cx - r, cy - r * 0.7, cx + r, cy + r * 0.7], outline=(90, 90, 160), width=1)
    for _ in range(rng.randrange(3, 9)):
        px, py = rng.uniform(x0, x1), rng.uniform(y0, y1)
        pts = [(px, py)]
        ang = rng.uniform(0, math.pi)
        for _k in range(rng.randrange(3, 7)):
            ang += rng.uniform(-0.4, 0.4)
            px, py = px + 40 * math.cos(ang), py + 40 * math.sin(ang)
            pts.append((min(max(px, x0), x1), min(max(py, y0), y1)))
        d.line(pts, fill=rng.choice([(200, 30, 30), (20, 20, 20)]), width=rng.randrange(2, 4))
    for _ in range(rng.randrange(2, 8)):
        px, py = rng.uniform(x0 + 10, x1 - 10), rng.uniform(y0 + 10, y1 - 10)
        d.ellipse([px - 5, py - 5, px + 5, py + 5], fill=(20, 20, 20))
    d.rectangle(box, outline=(0, 0, 0), width=2)


def gen_figure(rng, i, title=None, caption=None, body_seed=None, size=None):
    w, h = size or rng.choice([(960, 720), (800, 608), (1152, 864), (1024, 768)])
    c = Canvas(w, h, (255, 255, 255))
    tspec = rng.choice(ZH_FONTS)
    tsize = rng.randrange(28, 41)
    title = title or ("图" + str(rng.randrange(1, 12)) + " " if rng.random() < 0.4 else "") + rng.choice(ZH_TITLES)
    tw, th, ox, oy = c.size(title, tspec, tsize)
    c.text(((w - tw) // 2 - ox, 24 - oy), title, tspec, tsize, (0, 0, 0))
    cspec = rng.choice(EN_FONTS)
    csize = rng.randrange(18, 25)
    caption = caption or rng.choice(EN_CAPTIONS).format(n=rng.randrange(1, 12))
    cw, ch, ox, oy = c.size(caption, cspec, csize)
    while cw > w - 40:
        csize -= 2
        cw, ch, ox, oy = c.size(caption, cspec, csize)
    c.text(((w - cw) // 2 - ox, h - 24 - ch - oy), caption, cspec, csize, (0, 0, 0))
    legend_w = 200
    body = (70, 24 + th + 30, w - legend_w - 40, h - 24 - ch - 60)
    brng = random.Random(body_seed) if body_seed is not None else rng
    draw_figure_body(brng, c.draw, body)
    # Tick labels along the bottom and left edges.
    lspec = rng.choice(EN_FONTS)
    step = rng.choice([500, 1000, 250])
    nx = 4
    for k in range(nx + 1):
        x = body[0] + (body[2] - body[0]) * k // nx
        c.draw.line([(x, body[3]), (x, body[3] + 6)], fill=(0, 0, 0), width=1)
        lab = str(k * step)
        lw, lh, ox, oy = c.size(lab, lspec, 16)
        c.text((x - lw // 2 - ox, body[3] + 10 - oy), lab, lspec, 16, (0, 0, 0))
    # Legend.
    lx, ly = w - legend_w - 20, body[1] + 10
    items = rng.sample(list(zip(ZH_LEGEND, EN_LEGEND + ["Boundary"])), rng.randrange(3, 6))
    lsize = rng.randrange(16, 21)
    lang = rng.choice(["zh", "en", "both"])
    c.draw.rectangle([lx - 10, ly - 10, w - 14, ly + len(items) * (lsize + 16) + 44], outline=(0, 0, 0))
    head = {"zh": "图例", "en": "Legend", "both": "图例"}[lang]
    hs = ZH_FONTS[0] if lang != "en" else lspec
    c.text((lx, ly - c.size(head, hs, lsize + 2)[3]), head, hs, lsize + 2, (0, 0, 0))
    ly += lsize + 20
    for zh, en in items:
        col = tuple(rng.randrange(0, 220) for _ in range(3))
        c.draw.rectangle([lx, ly + 2, lx + 24, ly + lsize - 2], fill=col, outline=(0, 0, 0))
        lab = {"zh": zh, "en": en, "both": zh}[lang]
        spec = rng.choice(ZH_FONTS) if lang != "en" else rng.choice(EN_FONTS)
        c.text((lx + 34, ly - c.size(lab, spec, lsize)[3]), lab, spec, lsize, (0, 0, 0))
        ly += lsize + 16
    if body_seed is None and rng.random() < 0.3:
        c.rotate(rng.uniform(-2, 2), (255, 255, 255))
    img = degrade(rng, c.img, blur_p=0.2, noise_p=0.1) if body_seed is None else c.img
    return img, c.lines, rng.random() < 0.5 if body_seed is None else False


def gen_screenshot(rng, i):
    w, h = rng.choice([(1280, 800), (1152, 864), (1024, 640), (1280, 768)])
    dark = rng.random() < 0.35
    bg = (32, 33, 36) if dark else (250, 250, 250)
    fg = (230, 230, 230) if dark else (20, 20, 20)
    panel = (45, 46, 50) if dark else (236, 238, 241)
    zh = rng.random() < 0.5
    c = Canvas(w, h, bg)
    d = c.draw
    ui = rng.choice(ZH_FONTS[:3]) if zh else rng.choice([EN_FONTS[0], EN_FONTS[5], EN_FONTS[6]])
    # Title bar and menu.
    d.rectangle([0, 0, w, 36], fill=panel)
    title = ("图像检索 - " if zh else "Image Search - ") + rng.choice(["demo", "index", "photos"])
    tw, th, ox, oy = c.size(title, ui, 18)
    c.text(((w - tw) // 2 - ox, 18 - th // 2 - oy), title, ui, 18, fg)
    x = 16
    for item in (MENU_ZH if zh else MENU_EN)[:rng.randrange(4, 7)]:
        iw, ih, ox, oy = c.size(item, ui, 17)
        c.text((x - ox, 48 - oy), item, ui, 17, fg)
        x += iw + 36
    d.line([(0, 76), (w, 76)], fill=(120, 120, 120))
    # Sidebar.
    d.rectangle([0, 77, 200, h], fill=panel)
    y = 100
    for item in (SIDEBAR_ZH if zh else SIDEBAR_EN)[:rng.randrange(4, 8)]:
        iw, ih, ox, oy = c.size(item, ui, 18)
        c.text((28 - ox, y - oy), item, ui, 18, fg)
        y += 44
    # Heading and paragraph.
    x0 = 240
    head = pick_text(rng, "zh" if zh else "en")
    hw, hh, ox, oy = c.size(head, ui, 28)
    c.text((x0 - ox, 110 - oy), head, ui, 28, fg)
    y = 110 + hh + 30
    size = rng.choice([16, 17, 18, 20])
    for _ in range(rng.randrange(3, 8)):
        t = pick_text(rng, "zh" if zh else "en")
        if rng.random() < 0.5:
            t2 = pick_text(rng, "zh" if zh else "en")
            t = t + ("，" if zh else ", ") + t2
        tw, th, ox, oy = c.size(t, ui, size)
        if x0 + tw > w - 40:
            continue
        c.text((x0 - ox, y - oy), t, ui, size, fg)
        y += th + int(size * 0.9)
        if y > h - 140:
            break
    # Buttons.
    bx = x0
    accent = (26, 115, 232)
    for label in rng.sample(BUTTONS_ZH if zh else BUTTONS_EN, rng.randrange(2, 4)):
        lw, lh, ox, oy = c.size(label, ui, 18)
        d.rounded_rectangle([bx, h - 90, bx + lw + 40, h - 50], radius=6, fill=accent)
        c.text((bx + 20 - ox, h - 70 - lh // 2 - oy), label, ui, 18, (255, 255, 255))
        bx += lw + 70
    return c.img, c.lines, rng.random() < 0.3


def gen_notext(rng, i):
    w, h = rng.choice([(640, 480), (800, 600), (512, 512), (960, 640)])
    if rng.random() < 0.6:
        return photo_background(rng, w, h), [], rng.random() < 0.6
    img = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(img)
    draw_figure_body(rng, d, (30, 30, w - 30, h - 30))
    return img, [], rng.random() < 0.4


def save(img, out, name, jpeg, rng):
    if jpeg:
        path = name + ".jpg"
        img.save(os.path.join(out, path), quality=rng.randrange(55, 92))
    else:
        path = name + ".png"
        img.save(os.path.join(out, path), optimize=True)
    return path


def record(mf, path, kind, img, lines, group=""):
    for ln in lines:
        ln["box"] = [[round(x, 1), round(y, 1)] for x, y in ln["box"]]
    mf.write(json.dumps({"file": path, "kind": kind, "width": img.width, "height": img.height,
                         "group": group, "lines": lines}, ensure_ascii=False) + "\n")


KINDS = [("line", gen_line, 40), ("photobg", gen_photobg, 20), ("figure", gen_figure, 20),
         ("screenshot", gen_screenshot, 16), ("notext", gen_notext, 12)]
TWINS = 12


def main_set(out, scale, seed):
    rng = random.Random(seed)
    with open(os.path.join(out, "manifest.jsonl"), "w", encoding="utf-8") as mf:
        for kind, fn, n in KINDS:
            for i in range(n * scale):
                img, lines, jpeg = fn(rng, i)
                path = save(img, out, "%s-%03d" % (kind, i), jpeg, rng)
                record(mf, path, kind, img, lines)
        twins(mf, out, rng, scale, TWINS, (800, 608))


def twins(mf, out, rng, groups, n, size):
    """Twins: one drawing, one caption, different titles."""
    for g in range(groups):
        body_seed = rng.randrange(1 << 30)
        caption = rng.choice(EN_CAPTIONS).format(n=rng.randrange(1, 12))
        trng_state = rng.randrange(1 << 30)
        for k, title in enumerate(ZH_TITLES[:n]):
            trng = random.Random(trng_state)  # same fonts and layout for each twin
            img, lines, _ = gen_figure(trng, k, title=title, caption=caption, body_seed=body_seed, size=size)
            path = save(img, out, "twin-%02d-%02d" % (g, k), False, rng)
            record(mf, path, "twin", img, lines, group="twin-%02d" % g)


def twin_set(out, groups, seed):
    """Only twins, all 20 titles per group, smaller (the retrieval test set
    committed under tools/testdata/twins)."""
    rng = random.Random(seed)
    with open(os.path.join(out, "manifest.jsonl"), "w", encoding="utf-8") as mf:
        twins(mf, out, rng, groups, len(ZH_TITLES), (480, 360))


def fixtures(out, seed):
    """The committed fixture set: a few small images of each kind."""
    rng = random.Random(seed)
    with open(os.path.join(out, "manifest.jsonl"), "w", encoding="utf-8") as mf:
        wanted = [("line", gen_line, 5), ("photobg", gen_photobg, 1), ("notext", gen_notext, 1)]
        for kind, fn, n in wanted:
            for i in range(n):
                img, lines, jpeg = fn(rng, i)
                path = save(img, out, "%s-%d" % (kind, i), jpeg, rng)
                record(mf, path, kind, img, lines)
        img, lines, _ = gen_figure(rng, 0, title="断裂体系叠合图", caption="Figure 3. Fault system overlay map",
                                   body_seed=7, size=(640, 480))
        path = save(img, out, "figure-0", False, rng)
        record(mf, path, "figure", img, lines)
        # The same figure stored rotated a quarter turn counter-clockwise with
        # EXIF orientation 6 (display rotated 90 degrees clockwise): decoders
        # that apply the orientation see the upright figure.
        stored = img.transpose(Image.ROTATE_90)
        exif = Image.Exif()
        exif[0x0112] = 6
        stored.save(os.path.join(out, "figure-exif6.jpg"), quality=90, exif=exif.tobytes())
        record(mf, "figure-exif6.jpg", "exif", img, json.loads(json.dumps(lines)))


# The figures of the README's tour (examples/figures): a Chinese title and
# an English caption each, the same drawing under every title.
TOUR_FIGURES = [
    ("fault-system-overlay", "断裂体系叠合图", "Figure 3. Fault system overlay map"),
    ("top-structure", "顶面构造图", "Figure 5. Top structure map of the reservoir"),
    ("sedimentary-facies", "沉积相平面图", "Figure 7. Sedimentary facies map"),
]


def tour_figures(out, seed):
    """The README tour's figures (examples/figures), no manifest."""
    for k, (name, title, caption) in enumerate(TOUR_FIGURES):
        rng = random.Random(seed + k)
        img, _, _ = gen_figure(rng, k, title=title, caption=caption, body_seed=seed, size=(640, 480))
        img.save(os.path.join(out, name + ".png"), optimize=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("--scale", type=int, default=1)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--fixtures", action="store_true")
    ap.add_argument("--tour", action="store_true", help="write the README tour's figures (examples/figures)")
    ap.add_argument("--twins", type=int, default=0,
                    help="write only N groups of twin figures (20 titles each, 480x360)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for spec in set(ZH_FONTS + EN_FONTS):
        if not os.path.exists(spec[0]):
            sys.exit("gen_images.py: font %s missing (apt-get install fonts-wqy-zenhei fonts-wqy-microhei "
                     "fonts-noto-cjk fonts-liberation2 fonts-dejavu-core)" % spec[0])
    if a.fixtures:
        fixtures(a.out, a.seed)
    elif a.tour:
        tour_figures(a.out, a.seed)
    elif a.twins:
        twin_set(a.out, a.twins, a.seed)
    else:
        main_set(a.out, a.scale, a.seed)


if __name__ == "__main__":
    main()
