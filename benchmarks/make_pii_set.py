"""Write ``benchmarks/pii_set.jsonl``: invented petition messages with labelled personal data.

Every message is made here from templates and random but realistic values (mobile prefixes,
area codes, resident IDs with a valid checksum, bank cards passing the Luhn check, common
surnames and given-name characters, invented estate names); none comes from real data. Each
line is ``{"text", "spans": [{"start", "end", "category", "keep"?}]}``, ``category`` a key of
:data:`triage.pii.PLACEHOLDERS` and ``keep`` text that must survive masking (an address's
estate name). ``HARD_NEGATIVES`` are hand-written messages full of numbers and words that are
not personal data (stock codes, order numbers, amounts, dates, article numbers, counts, postcodes,
surnames with honorifics): their ``spans`` are empty. Deterministic (seed 0)::

    python benchmarks/make_pii_set.py            # PER_CATEGORY messages per category
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parent / "pii_set.jsonl"
PER_CATEGORY = 1000

MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "145",
    "147",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "170",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
]
AREA_CODES = [
    "010",
    "020",
    "021",
    "022",
    "023",
    "024",
    "025",
    "027",
    "028",
    "029",
    "0311",
    "0351",
    "0411",
    "0431",
    "0451",
    "0454",
    "0571",
    "0591",
    "0731",
    "0746",
    "0755",
    "0871",
]
ID_AREAS = [
    "110105",
    "110108",
    "120101",
    "130102",
    "210202",
    "220102",
    "230801",
    "310104",
    "320102",
    "330106",
    "350102",
    "370102",
    "410105",
    "430102",
    "430602",
    "440305",
    "450103",
    "500103",
    "510104",
    "610113",
    "620102",
    "650102",
]
CARD_PREFIXES = [
    "622202",
    "621700",
    "622848",
    "621661",
    "622588",
    "621226",
    "622700",
    "623668",
    "436742",
    "518710",
    "356833",
    "955880",
    "622609",
]
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜"
    "崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔汤常温康施文牛"
    "樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲"
    "翁冉骆蓝路游辛靳管柴"
)
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛"]
GIVEN_CHARS = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文辉力斌宇浩凯鹏飞鑫晨欣怡佳雪梅琳婷慧颖晓燕"
    "春海林波宁峰亮成龙瑞凤洁琴云莲真环荣爱福生德祥利清"
)
ESTATES = [
    "阳光花园",
    "锦绣华庭",
    "幸福里小区",
    "翠湖苑",
    "金色家园",
    "东方明珠小区",
    "和平新村",
    "书香名苑",
    "滨江一号",
    "世纪英伦小区",
    "碧水龙庭",
    "山水嘉园",
    "绿城桂花园",
    "恒大名都",
    "万科城",
    "星河湾",
    "紫薇花园",
    "怡景苑",
    "丽景华庭",
    "南湖社区",
]
STREETS = ["胜利巷", "民主巷", "建设巷", "光明弄", "长乐弄", "三组", "五组", "十二组", "红星村四组", "新华巷"]
EMAIL_DOMAINS = [
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "sohu.com",
    "gmail.com",
    "outlook.com",
    "foxmail.com",
    "xx.gov.cn",
    "yeah.net",
]
PINYIN = [
    "zhang",
    "wang",
    "li",
    "liu",
    "chen",
    "yang",
    "huang",
    "zhao",
    "wu",
    "zhou",
    "xu",
    "sun",
    "ma",
    "zhu",
    "hu",
    "guo",
    "he",
    "gao",
    "lin",
    "luo",
    "xiaoming",
    "jianguo",
    "lili",
]
PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤川"
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

# Filler clauses (invented) that surround the personal data, some with harmless numbers.
OPENINGS = (
    "尊敬的领导：",
    "您好，",
    "",
    "市长您好！",
    "各位领导：",
    "我要投诉，",
    "反映一个问题：",
    "",
)
COMPLAINTS = (
    "小区门口的路灯坏了三个月没人修",
    "物业费从每月1.2元涨到2.5元，业主不同意",
    "楼上漏水已经半年，物业一直推脱",
    "2019年购买的房子至今办不了产权证",
    "孩子入学报名的事情一直没有回复",
    "暖气温度只有16度，远低于标准",
    "工地晚上11点以后还在施工，噪音扰民",
    "拖欠工资共计38000元，老板一直不给",
    "共有120户业主联名反映此事",
    "按照第12条的规定应当退还押金",
    "已经打了12345热线三次",
    "公交车15路经常不停站",
)
CLOSINGS = ("，请尽快处理。", "，望领导重视！", "。谢谢！", "，盼回复。", "。", "")


def luhn_complete(partial: str) -> str:
    """``partial`` plus the check digit that makes it pass the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(partial)):
        value = int(char)
        if position % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return partial + str((10 - total % 10) % 10)


def resident_id(rng: random.Random) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    birth = f"{rng.randint(1940, 2008)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = rng.choice(ID_AREAS) + birth + f"{rng.randint(0, 999):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]
    return body + (check.lower() if check == "X" and rng.random() < 0.3 else check)


def group(digits: str, sizes: tuple[int, ...], separator: str) -> str:
    parts, start = [], 0
    for size in sizes:
        parts.append(digits[start : start + size])
        start += size
    if start < len(digits):
        parts.append(digits[start:])
    return separator.join(parts)


FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def mobile(rng: random.Random) -> str:
    digits = rng.choice(MOBILE_PREFIXES) + "".join(rng.choice("0123456789") for _ in range(8))
    sizes = rng.choice([(11,), (11,), (3, 4, 4), (3, 4, 4), (3, 3, 5), (4, 4, 3), (3, 8), (4, 3, 4)])
    separator = rng.choice([" ", "-", ".", "—", " - ", "–"]) if len(sizes) > 1 else ""
    number = group(digits, sizes, separator)
    prefix = rng.choice(["", "", "", "", "+86 ", "+86-", "0086 ", "(+86)", "+86"])
    number = prefix + number
    return number.translate(FULL_WIDTH) if rng.random() < 0.1 else number


def landline(rng: random.Random) -> str:
    area = rng.choice(AREA_CODES)
    local = str(rng.randint(2, 8)) + "".join(rng.choice("0123456789") for _ in range(7 if len(area) == 3 else 6))
    form = rng.choice(["{a}-{l}", "{a}-{l}", "({a}){l}", "{a} {l}", "{a}—{l}", "{a}-{g}", "（{a}）{l}"])
    number = form.format(a=area, l=local, g=group(local, (len(local) - 4,), "-"))
    return number + (rng.choice(["转", "-"]) + str(rng.randint(1, 999)) if rng.random() < 0.1 else "")


def local_landline(rng: random.Random) -> str:
    local = str(rng.randint(2, 8)) + "".join(rng.choice("0123456789") for _ in range(rng.choice([6, 7])))
    split = (len(local) - 4,)  # 3-4 or 4-4, as local numbers are written
    return rng.choice([local, local, group(local, split, "-"), group(local, split, " ")])


def service_number(rng: random.Random) -> str:
    digits = rng.choice(["400", "800"]) + "".join(rng.choice("0123456789") for _ in range(7))
    return rng.choice([digits, group(digits, (3, 3, 4), "-"), group(digits, (3, 3, 4), " ")])


def phone_value(rng: random.Random) -> tuple[str, str]:
    """A phone number and a cue-bearing template for it."""
    kind = rng.random()
    if kind < 0.55:
        return mobile(rng), rng.choice(
            ["我的手机{}", "联系电话：{}", "电话{}", "有事请打{}", "打{}找我", "手机号码是{}", "{}"]
        )
    if kind < 0.8:
        return landline(rng), rng.choice(["座机{}", "办公电话：{}", "拨打{}无人接听", "物业电话{}", "联系方式{}"])
    if kind < 0.93:
        return local_landline(rng), rng.choice(
            [
                "联系电话：{}",
                "座机{}",
                "固话 {}",
                "联系方式：{}",
                "值班电话{}",
                "电话是{}",
                "物业办公室电话{}",
                "热线{}",
            ]
        )
    return service_number(rng), rng.choice(["客服电话{}", "拨打{}投诉", "热线{}一直占线"])


def id_value(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.15:
        birth = f"{rng.randint(30, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        number = rng.choice(ID_AREAS) + birth + f"{rng.randint(0, 999):03d}"
    else:
        number = resident_id(rng)
        sizes = rng.choice([(18,), (18,), (18,), (6, 8, 4), (6, 4, 4, 4), (4, 4, 4, 4, 2), (3, 3, 4, 4, 4)])
        number = group(number, sizes, rng.choice([" ", "-"]))
    template = rng.choice(["身份证号：{}", "身份证号码{}", "证件号 {}", "本人身份证{}", "身份证：{}，", "(身份证号{})"])
    return number, template


def card_value(rng: random.Random) -> tuple[str, str]:
    prefix = rng.choice(CARD_PREFIXES)
    length = rng.choice([16, 19, 19, 16, 17, 18])
    digits = luhn_complete(prefix + "".join(rng.choice("0123456789") for _ in range(length - 1 - len(prefix))))
    sizes = rng.choice([(length,), (length,), (4, 4, 4, 4), (6, length - 6), (4, 4, 4, 4, 4)])
    number = group(digits, sizes, rng.choice([" ", "-", " "]))
    template = rng.choice(
        ["银行卡号：{}", "卡号{}", "工资打到{}这张卡上", "账号 {}", "请把钱退到{}", "补贴发放到银行卡{}", "转账到{}"]
    )
    return number, template


def qq_value(rng: random.Random) -> tuple[str, str]:
    number = str(rng.randint(1, 9)) + "".join(
        rng.choice("0123456789") for _ in range(rng.choice([5, 6, 7, 8, 8, 9, 9]))
    )
    template = rng.choice(
        ["QQ：{}", "QQ号{}", "qq {}", "扣扣{}", "QQ号码是{}", "加我QQ{}", "Q Q号:{}".replace(" ", "")]
    )
    return number, template


def wechat_value(rng: random.Random) -> tuple[str, str]:
    style = rng.random()
    if style < 0.5:
        ident = rng.choice(PINYIN) + rng.choice(["", "_", "-"]) + str(rng.randint(1, 99999))
    elif style < 0.75:
        ident = "wxid_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(14))
    else:
        ident = rng.choice("abcdefghijklmnopqrstuvwxyz").upper() + "".join(
            rng.choice("abcdefghijklmnopqrstuvwxyz0123456789_") for _ in range(rng.randint(5, 15))
        )
    if len(ident) < 6:
        ident += "2024"
    template = rng.choice(["微信：{}", "微信号{}", "加微信{}", "VX:{}", "vx {}", "wx：{}", "威信{}", "微信号是{}"])
    return ident, template


def name_value(rng: random.Random) -> tuple[str, str]:
    surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.03 else rng.choice(SURNAMES)
    given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice([1, 2, 2])))
    template = rng.choice(
        [
            "我叫{}，",
            "我叫{}，今年56岁，",
            "本人{}，男，",
            "本人{}，女，",
            "姓名：{}，",
            "联系人：{}，",
            "联系人{}，",
            "举报人：{}，",
            "我是{}，",
            "本人{}（",
            "申请人：{}。",
            "我叫{}，家住",
            "本人{}身份证号已提供，",
            "联系人：{} 电话稍后提供，",
            "姓名 {}，",
            "投诉人{}，",
            "反映人：{}；",
            "落款：{}。",
            "我叫{}。",
        ]
    )
    return surname + given, template


def address_value(rng: random.Random) -> tuple[str, str, str]:
    estate = rng.choice(ESTATES)
    building = rng.choice([str(rng.randint(1, 40)), rng.choice("ABCDEFG"), rng.choice("一二三四五六七八九十")])
    suffix = rng.choice(["栋", "栋", "幢", "号楼", "座"]) if building not in "ABCDEFG" else rng.choice(["栋", "座"])
    unit = f"{rng.randint(1, 6)}单元" if rng.random() < 0.6 else ""
    room = f"{rng.randint(1, 33)}{rng.randint(1, 4):02d}"
    room += rng.choice(["室", "室", "", "号", "房"])
    style = rng.random()
    if style < 0.55:
        part = f"{building}{suffix}{unit}{room}"
    elif style < 0.65:  # down to the floor: 3单元5楼502, 2单元3楼1号
        floor = rng.randint(1, 9)
        door = rng.choice([f"{floor}0{rng.randint(1, 4)}", str(rng.randint(1, 4))]) + rng.choice(["室", "号"])
        part = f"{building}{suffix}{rng.randint(1, 6)}单元{floor}{rng.choice(['楼', '层'])}{door}"
    elif style < 0.8:
        part = f"{rng.randint(1, 40)}-{rng.randint(1, 6)}-{room.rstrip('室号房')}"
    elif style < 0.9:
        part = f"{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
    else:
        estate = rng.choice(STREETS)
        part = f"{rng.randint(1, 300)}号"
    template = rng.choice(["我住在{}，", "家住{}，", "{}的业主，", "位于{}的住户", "{}家楼上漏水，"])
    return estate, part, template


def email_value(rng: random.Random) -> tuple[str, str]:
    local = rng.choice(
        [
            str(rng.randint(10000, 9999999999)),
            rng.choice(PINYIN) + str(rng.randint(1, 9999)),
            rng.choice(PINYIN) + "." + rng.choice(PINYIN),
            rng.choice(PINYIN) + "_" + str(rng.randint(1, 99)),
        ]
    )
    return f"{local}@{rng.choice(EMAIL_DOMAINS)}", rng.choice(["邮箱{}", "请发邮件到{}", "邮箱：{}，", "Email: {}"])


def url_value(rng: random.Random) -> tuple[str, str]:
    host = rng.choice(["www.", ""]) + rng.choice(PINYIN) + rng.choice([".com", ".cn", ".gov.cn", ".net"])
    path = rng.choice(["", "/", "/news/show.asp?id=" + str(rng.randint(1, 9999)), "/a/b.html"])
    url = (
        (rng.choice(["http://", "https://"]) if not host.startswith("www.") or rng.random() < 0.5 else "") + host + path
    )
    return url, rng.choice(["详见{}，", "网址{}", "链接：{} ", "在{}上看到"])


def plate_value(rng: random.Random) -> tuple[str, str]:
    tail = "".join(rng.choice("0123456789" + PLATE_LETTERS) for _ in range(rng.choice([5, 5, 6])))
    plate = rng.choice(PROVINCES) + rng.choice(PLATE_LETTERS) + rng.choice(["", "", "·"]) + tail
    return plate, rng.choice(["车牌{}的车", "一辆{}的货车", "车牌号：{}，", "{}长期占用消防通道"])


def message(rng: random.Random, category: str) -> dict:
    """One message holding one value of ``category`` among invented filler."""
    keep: tuple[str, ...] = ()
    if category == "address":
        estate, value, template = address_value(rng)
        template = template.format(estate + "{}")
        keep = (estate,)
    else:
        value, template = VALUES[category](rng)
    before = rng.choice(OPENINGS) + (rng.choice(COMPLAINTS) + "，" if rng.random() < 0.5 else "")
    head, tail = template.split("{}")
    text = before + head
    start = len(text)
    text += value + tail
    if not tail or tail[-1] not in "，。！（ ":
        text += rng.choice(["，", "。", " ", "；"])
    text += rng.choice(COMPLAINTS) + rng.choice(CLOSINGS)
    span = {"start": start, "end": start + len(value), "category": category}
    if keep:
        span["keep"] = list(keep)
    return {"text": text, "spans": [span]}


VALUES: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "url": url_value,
    "email": email_value,
    "id_number": id_value,
    "bank_card": card_value,
    "phone": phone_value,
    "qq": qq_value,
    "wechat": wechat_value,
    "name": name_value,
    "plate": plate_value,
}

# Hand-written messages without personal data, full of what must not be masked.
HARD_NEGATIVES = (
    "股票000651和600519今天都涨了，300750跌了",
    "我买的基金代码是161725，亏了两万",
    "工单号20200315001234至今没有处理结果",
    "订单编号202103150987654321，货一直没到",
    "合同编号HT2019-0023，请核实",
    "表单号110105194912310021填错了怎么改",
    "物业费每平米1.85元，全年共计2664元",
    "共交了12000元押金，退了8500元",
    "房价从8000涨到了15800元每平方米",
    "拖欠工资138000元",
    "2020年3月15日下午3点20分发生的事",
    "2019-12-31之前必须办完",
    "时间是20200315，地点在广场",
    "会议定在14:30召开",
    "根据《物业管理条例》第12条和第三十五条规定",
    "第2019号文件已经下发",
    "湘政发〔2020〕12号文件明确规定",
    "全小区共有1380户，其中已入住856户",
    "该小区共计564户业主",
    "每天有3000多辆车经过这个路口",
    "邮编410000，地址是A市A3区",
    "邮政编码：116000",
    "小区5栋2单元的电梯坏了",
    "3号楼1100平方米的商铺闲置",
    "2栋和3栋之间的绿地被占",
    "A3区5栋楼下的垃圾没人清理",
    "王先生和李女士都反映过这个问题",
    "物业的张经理态度很差",
    "一位姓刘的师傅来修过一次",
    "我叫了物业三次都没人来",
    "本人于去年十月购买了该房屋",
    "本人在此郑重承诺",
    "本人向有关部门反映多次",
    "本人连续缴纳社保24个月",
    "我是业主，也是居民",
    "我是农民，种地为生",
    "拨打12345热线没人接",
    "拨打110报警后民警到场",
    "请拨打12333咨询社保问题",
    "关注微信公众号可以查询",
    "在QQ音乐上听到的",
    "微信支付和支付宝都可以",
    "微信群里的人都在说",
    "按照GB50016-2014标准验收",
    "温度只有16度，标准是18度",
    "身高175厘米，体重70公斤",
    "2008年到2018年这十年间",
    "每月工资3500元，扣了社保412.5元",
    "面积是89.56平方米，公摊17.3平方米",
    "公交车115路和302路都不停",
    "地铁2号线和4号线换乘站",
    "G4京港澳高速1503公里处",
    "国道107线",
    "版本号V2.3.1",
    "身份证号码已经交给社区了",
    "银行卡被冻结了怎么办",
    "电话打了十几次都没人接",
    "座机坏了一个月",
    "联系方式已经留给物业",
    "QQ群里通知的",
    "扣扣也联系不上",
    "微信联系过多次",
    "第3期第15批拆迁名单",
    "2019年度第4季度的补贴",
    "排在第1024位",
    "人口普查数据显示有3254567人",
    "GDP增长了6.5%",
    "2020年12月31日23:59截止",
    "发票号码04401900011123456",
    "快递单号YT1234567890123",
    "营业执照注册号：91430100MA4L12345X",
    "统一社会信用代码91210200123456789A",
    "车辆识别代号在行驶证上",
    "IP地址192.168.1.100连不上",
    "学号2019010123，学生证丢了",
    "准考证号是123456789",
    "会员卡号12345678",
    "房屋编号A-12-0301",
    "案号（2019）湘0102民初1234号",
    "报警回执编号J4301020000000012345",
    "1998年下岗，工龄23年",
    "出生于1965年5月",
    "每天6点到22点营业",
    "1栋到10栋都停水了",
    "从301路公交站走过来",
    "电费0.588元一度",
    "第十二条第三款",
    "总投资4.07亿元",
    "共计2,345,678元",
    "价格从￥1,280涨到了￥1,680",
    "我是向阳区的居民",
    "本人车辆被刮",
    "姓名一栏填错了",
    "王姓男子在小区门口摆摊",
    "我姓王，住在阳光花园",
    "联系人一栏空着",
    "办公室在三楼",
    "会议室里开的会",
    "3室2厅的房子",
    "两室一厅70平米",
    "QQ2014版本有问题",
    "WX系列的产品",
    "电话费每月38元",
    "手机屏幕坏了",
    "热线号码是多少",
)


def negative_numbers(rng: random.Random) -> dict:
    """A message with random numbers of kinds that are not personal data."""
    kind = rng.randrange(9)
    if kind == 0:
        text = f"股票代码{rng.choice(['000', '002', '300', '600', '601'])}{rng.randint(0, 999):03d}今天跌停"
    elif kind == 1:
        day = f"{rng.randint(2015, 2024)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
        text = f"工单号{day}{rng.randint(0, 999999):06d}还没处理"
    elif kind == 2:
        text = f"一共交了{rng.randint(100, 999999)}元，退回{rng.randint(10, 9999)}.{rng.randint(0, 99)}元"
    elif kind == 3:
        day = f"{rng.randint(1990, 2024)}年{rng.randint(1, 12)}月{rng.randint(1, 28)}日"
        text = f"{day}{rng.randint(0, 23)}:{rng.randint(0, 59):02d}发生的事"
    elif kind == 4:
        text = f"依据第{rng.randint(1, 300)}条第{rng.randint(1, 9)}款"
    elif kind == 5:
        text = f"全小区共有{rng.randint(100, 9999)}户，{rng.randint(1, 60)}栋楼"
    elif kind == 6:
        text = f"邮编{rng.choice(['410000', '116000', '154000', '100085', '200120'])}"
    elif kind == 7:
        person = rng.choice(SURNAMES) + rng.choice(["先生", "女士", "师傅", "经理", "阿姨", "老师"])
        text = f"{person}说{rng.randint(2, 9)}号楼{rng.randint(1, 6)}单元的灯坏了"
    else:
        text = f"面积{rng.randint(50, 200)}.{rng.randint(0, 99)}平方米，单价{rng.randint(5000, 30000)}元"
    return {"text": text, "spans": []}


def build(seed: int = 0, per_category: int = PER_CATEGORY) -> list[dict]:
    rng = random.Random(seed)
    items = [message(rng, category) for category in (*VALUES, "address") for _ in range(per_category)]
    items += [{"text": text, "spans": []} for text in HARD_NEGATIVES]
    items += [negative_numbers(rng) for _ in range(per_category)]
    return items


def main() -> None:
    items = build()
    with OUT.open("w", encoding="utf-8") as handle:
        for item in items:
            handle.write(json.dumps(item, ensure_ascii=False) + "\n")
    print(f"{len(items)} messages written to {OUT}")


if __name__ == "__main__":
    main()
