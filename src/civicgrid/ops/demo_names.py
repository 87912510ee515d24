"""Names, places and sentences the demo district is written with (fictional, shaped like the seeds)."""

from __future__ import annotations

import random


def _words(text: str) -> list[str]:
    """Long word lists read better as one string than one item per line, as the formatter would put them."""
    return text.split()


DISTRICT_NAME = "示范区"
# Near 招远 (Zhaoyuan), whose 招即办 platform the demo imitates.
CENTRE_LAT, CENTRE_LON = 37.36, 120.40

STREETS = ["金城街道", "泉山街道", "凤鸣街道", "温泉街道", "罗山街道", "梦芝街道"]
COMMUNITIES = [
    ["金岭社区", "北关社区", "府前社区", "文化社区", "双塔社区", "河东社区", "城南社区", "钟楼社区"],
    ["泉山社区", "玲珑社区", "魏家社区", "东庄社区", "罗山社区", "新华社区", "青年社区", "瑞泉社区"],
    ["凤鸣社区", "梧桐社区", "南苑社区", "翠屏社区", "阳光社区", "康乐社区", "和平社区", "朝阳社区"],
    ["温泉社区", "汤东社区", "汤西社区", "龙泉社区", "月湖社区", "金泉社区", "西河社区", "荷花社区"],
    ["罗峰社区", "山后社区", "丰台社区", "兴隆社区", "永安社区", "宝山社区", "北苑社区", "福泰社区"],
    ["梦芝社区", "芝山社区", "昌平社区", "安顺社区", "九曲社区", "怡园社区", "丽景社区", "书香社区"],
]
ROADS = _words(
    "金城路 府前街 温泉路 泉山路 罗峰路 黄金路 迎宾路 北关路 文化路 初山路 "
    "玲珑路 魁星路 河东路 梦芝街 兴华路 广场路 天府路 招贤路 龙泉路 凤鸣路 "
)
ESTATES = _words(
    "金都花园 阳光小区 幸福里 锦绣家园 翠湖苑 泉城丽景 玲珑新村 府前小区 "
    "温泉花园 书香苑 和美家园 金色港湾 凤凰城 瑞景园 东方明珠苑 紫金华庭 "
    "南山小区 北关新村 文化小区 康居小区 福源小区 翡翠园 天一华府 福地嘉园 "
    "鑫苑名家 汇丰小区 城南人家 金泉小区 丽水湾 新华小区 双塔小区 梧桐苑 "
    "月湖佳苑 怡和园 荷塘月色 西河小区 春晖小区 永安里 瑞泉小区 龙泉雅居 "
    "御景园 樱花小区 东庄新村 宝山小区 "
)
CHINESE_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]

# (category, name) of the dedicated grids: enterprises, parks, markets, schools, hospitals.
DEDICATED_GRIDS = [
    ("enterprise", "金泰矿业专属网格"),
    ("enterprise", "鑫源食品专属网格"),
    ("enterprise", "华宇轮胎专属网格"),
    ("enterprise", "恒达机械专属网格"),
    ("park", "经济开发区北园专属网格"),
    ("park", "黄金产业园专属网格"),
    ("park", "电商物流园专属网格"),
    ("market", "北关农贸大市场专属网格"),
    ("market", "温泉商业街专属网格"),
    ("market", "果蔬批发市场专属网格"),
    ("school", "第一实验小学专属网格"),
    ("school", "第二中学专属网格"),
    ("school", "职业中专专属网格"),
    ("hospital", "人民医院专属网格"),
    ("hospital", "中医医院专属网格"),
]
# Items a dedicated grid's cases are mostly about, by category.
DEDICATED_ITEMS = {
    "enterprise": ["AQSC-104", "STHB-102", "MSFW-101", "AQSC-103", "STHB-204"],
    "park": ["AQSC-103", "STHB-102", "MSFW-101", "AQSC-201", "ZHZF-203"],
    "market": ["ZHZF-202", "ZHZF-301", "AQSC-201", "STHB-301", "ZHZF-102"],
    "school": ["SHZA-204", "ZHZF-202", "AQSC-201", "MSFW-205", "SHZA-303"],
    "hospital": ["AQSC-201", "ZHZF-303", "SHZA-204", "MSFW-203", "STHB-301"],
}
DEDICATED_BUILDINGS = {
    "enterprise": ["综合办公楼", "一号厂房", "二号厂房"],
    "park": ["服务中心", "标准厂房A座", "标准厂房B座"],
    "market": ["交易大厅", "东侧商铺", "西侧商铺"],
    "school": ["教学楼", "实验楼", "学生宿舍"],
    "hospital": ["门诊楼", "住院部", "医技楼"],
}

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛"
    "叶阎潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段曲初隋衣栾"
)
GIVEN_CHARS = (
    "建国华明伟芳秀英军丽敏静强磊洋勇艳杰娟涛超霞平刚桂兰玉珍志海红梅波辉鹏飞宇浩然晨旭东升文斌"
    "淑琴凤云凯欣怡佳琪子涵雨萱俊杰振宁立新春燕德胜永福庆丰学良金山宏宾雪莲秋菊晓光忠诚"
)
PHONE_PREFIXES = _words(
    "130 131 132 133 135 136 137 138 139 150 "
    "151 152 155 156 157 158 159 176 177 178 "
    "180 181 182 183 185 186 187 188 189 199 "
)

# What a resident says about each catalogue item; "{where}" becomes the building or the grid.
ITEM_TEXTS = {
    "ZHZF-101": "{where}有住户在楼顶加盖彩钢房，已经施工两天了",
    "ZHZF-102": "{where}附近一处民房里有人加工豆制品，没有招牌，卫生条件很差",
    "ZHZF-103": "{where}附近有人用三轮车私下倒卖液化气罐，来源不明",
    "ZHZF-201": "{where}一楼住户在公共绿地上搭了个棚子放杂物",
    "ZHZF-202": "{where}门口每天早上有人摆摊卖菜，堵住了人行道",
    "ZHZF-203": "{where}旁边路段渣土车经过后满地泥土，车辆打滑",
    "ZHZF-204": "{where}旁边工地每天晚上十一点后还在打桩，吵得睡不着",
    "ZHZF-301": "{where}临街店铺把货架摆到门外人行道上",
    "ZHZF-302": "{where}单元门和楼道墙上贴满了开锁、疏通小广告",
    "ZHZF-303": "{where}门口共享单车和电动车乱停，消防车道被占",
    "ZHZF-304": "{where}有住户把小区绿化带刨了种菜",
    "ZHZF-305": "{where}有住户在院子里养鸡，气味很大，凌晨打鸣",
    "AQSC-101": "{where}楼道里闻到很浓的燃气味，怀疑有泄漏",
    "AQSC-102": "{where}电梯停在两层之间，里面有人被困",
    "AQSC-103": "{where}地下室堆满可燃杂物，还有人私拉电线",
    "AQSC-104": "{where}附近仓库存放了大量油漆稀料，没有任何防护",
    "AQSC-105": "{where}外墙出现多处裂缝，阳台有水泥块脱落",
    "AQSC-201": "{where}消防通道被私家车长期占用，堵得严严实实",
    "AQSC-202": "{where}燃气管道锈蚀严重，阀门关不严",
    "AQSC-203": "{where}电梯已经停运三天，老人上下楼很困难",
    "AQSC-204": "{where}高层窗户玻璃松动，刮风时摇摇欲坠",
    "AQSC-301": "{where}有住户从窗户拉电线给楼下电动车充电",
    "AQSC-302": "{where}楼道里的灭火器过期，消火栓箱门坏了",
    "AQSC-303": "{where}楼道里堆满纸箱和旧家具，影响通行",
    "SHZA-101": "{where}聚集了几十名业主，情绪激动，准备去讨说法",
    "SHZA-102": "{where}附近一处出租屋每晚有人聚集打牌，疑似赌博",
    "SHZA-103": "{where}有老人接到自称公检法的电话，要求转账到安全账户",
    "SHZA-104": "{where}有一名精神障碍患者近期情绪不稳，在楼道里摔东西",
    "SHZA-105": "{where}多户居民与开发商因车位产权发生纠纷，矛盾激化",
    "SHZA-201": "{where}物业公司要涨物业费，业主不同意，双方僵持",
    "SHZA-202": "{where}两户人家因宅基地边界发生争执",
    "SHZA-203": "{where}楼上住户经常传出打骂声，怀疑存在家庭暴力",
    "SHZA-204": "{where}附近学校门口上下学时段有流动摊贩和车辆乱停",
    "SHZA-301": "{where}楼上楼下因漏水问题吵了好几次",
    "SHZA-302": "{where}一对夫妻闹离婚，老人无人照看",
    "SHZA-303": "{where}楼下广场舞音响声音太大，晚上九点后还不停",
    "SHZA-304": "{where}有人遛狗不拴绳，还不清理粪便",
    "SHZA-305": "{where}单元门禁坏了半个月，陌生人随便进出",
    "SHZA-306": "{where}有一套房子新租给了几个外地务工人员，需要登记",
    "MSFW-101": "{where}附近工地拖欠二十多名农民工两个月工资",
    "MSFW-102": "{where}门口路段积水没过膝盖，车辆无法通行",
    "MSFW-103": "{where}附近饭店聚餐后多人出现呕吐腹泻",
    "MSFW-104": "{where}整片区域突然停电，已经两个多小时",
    "MSFW-201": "{where}从早上开始停水，没有接到任何通知",
    "MSFW-202": "{where}家里电压不稳，灯一直闪，电器无法使用",
    "MSFW-203": "{where}门口路上的窨井盖不见了，晚上很危险",
    "MSFW-204": "{where}附近一段路的路灯一直不亮，晚上漆黑一片",
    "MSFW-205": "{where}门口道路坑洼不平，下雨天全是积水",
    "MSFW-206": "{where}一户居民因病致贫，想咨询低保申请",
    "MSFW-301": "{where}有位独居老人几天没出门，邻居敲门没人应",
    "MSFW-302": "{where}一户居民家中突发变故，生活暂时困难",
    "MSFW-303": "{where}居民想办理城乡居民医保，不知道需要什么材料",
    "MSFW-304": "{where}楼道声控灯坏了好几盏，晚上看不清台阶",
    "MSFW-305": "{where}小区健身器材损坏，容易伤人",
    "MSFW-306": "{where}楼下下水道堵塞，污水漫到路面上",
    "MSFW-307": "{where}一位残疾人需要办理轮椅申领",
    "STHB-101": "{where}旁边河道发黑发臭，有白色泡沫",
    "STHB-102": "{where}附近工厂夜里往沟里排放有颜色的废水",
    "STHB-103": "{where}附近空地上有人倾倒了几十桶废机油",
    "STHB-104": "{where}后山冒出浓烟，好像着火了",
    "STHB-105": "{where}附近耕地被人挖土建房",
    "STHB-201": "{where}楼下饭店油烟直接排到居民窗户上",
    "STHB-202": "{where}附近有人在空地上焚烧垃圾和秸秆，烟很大",
    "STHB-203": "{where}附近养猪场粪污直接排到沟里，臭味很重",
    "STHB-204": "{where}旁边工地没有苫盖，刮风时尘土飞扬",
    "STHB-301": "{where}垃圾桶满了没人清运，周围堆满垃圾",
    "STHB-302": "{where}垃圾分类桶里的垃圾混装，分类形同虚设",
    "STHB-303": "{where}附近水塘漂满了塑料袋和垃圾",
    "STHB-304": "{where}小区绿化带杂草丛生，树木多年没修剪",
    "STHB-305": "{where}路边有一只死狗，无人处理",
}
# How handlers report a result, by catalogue domain.
RESOLUTIONS = {
    "ZHZF": ["已到现场核实，责令当事人限期整改，现已恢复原状", "已联合执法队现场处置，违规物品已清理"],
    "AQSC": ["已组织专业人员现场排查，隐患已消除", "已督促责任单位整改到位，并开展安全宣传"],
    "SHZA": ["已约谈双方当事人调解，达成一致意见", "已联系辖区民警走访核查，情况已妥善处置"],
    "MSFW": ["已协调相关单位上门处理，恢复正常", "已帮助群众办理相关手续，并告知后续流程"],
    "STHB": ["已安排人员清理完毕，并加强日常巡查", "已现场检查并责令整改，环境已恢复"],
}
# (title, what was asked, why it was refused): requests a platform does not take on (不予受理).
REJECTED_REQUESTS = [
    ("讨要个人借款", "朋友借我五万元一直不还，请政府帮我要回来", "属于民间借贷纠纷，已告知通过诉讼途径解决"),
    ("要求改判", "对法院的离婚判决不服，要求街道出面改判", "属于司法程序处理范围，已告知依法申请再审"),
    ("来电内容不清", "来电反映情况，未说明具体地点和事项", "诉求内容不清，多次回拨无人接听，无法核实"),
    ("彩票咨询", "咨询昨天彩票开奖号码", "不属于政务服务受理范围，已当场告知查询渠道"),
    ("外地事项", "反映外省老家宅基地被占用", "不属于本区管辖范围，已告知向属地反映"),
]
WITHDRAW_REASONS = ["诉求人来电表示问题已自行解决，申请撤回", "诉求人反映的问题已由物业处理，主动撤回"]
RETURN_REASON = "经核实，该事项不属于本单位职责范围，建议改派{unit}"
EXTENSION_REASONS = [
    "需协调多个部门联合处置，申请延期",
    "需等待材料到货后施工，申请延期",
    "当事人外出，需延期约谈",
]
DENY_REASONS = ["事项紧急，不予延期，请按期办结", "理由不充分，请加强力量按期办结"]
ESCALATE_NOTES = {
    "grid": "网格内无法解决，提请社区协调（民呼社应）",
    "community": "社区协调未果，提请街道处置（社呼街应）",
    "street": "涉及多个部门，提请区级统筹（街呼区应）",
}
SUMMON_NOTE = "街道吹哨、部门报到：请相关部门到场联合处置"
SUPERVISE_LATE = "该诉求已超过办结时限，请立即办理并反馈"
SUPERVISE_SOON = "群众反映强烈，请加快办理进度"
HANDLER_NOTES = ["已电话联系诉求人，约定上门核实", "已到现场查看，正在协调处理", "已拍照留存，待相关单位配合"]
PRAISE_COMMENTS = ["处理很及时，非常满意", "工作人员态度很好，问题解决了", "谢谢网格员，办事靠谱"]
BASIC_COMMENTS = ["基本解决了，希望以后多巡查", "处理得还行，就是慢了点"]
DISSATISFIED_COMMENTS = ["问题没有解决，过两天又出现了", "只来看了一眼，没有实际处理"]
REOPEN_REASON = "群众评价不满意，经审核需重新办理"
CLOSE_NOTES = ["回访三次未接通，按规定销号", "网格员主动发现并处置完毕，核查属实予以销号"]


def person_name(rng: random.Random) -> str:
    given = "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice([1, 2, 2, 2])))
    return rng.choice(SURNAMES) + given


def phone_number(rng: random.Random) -> str:
    """An 11-digit mobile number, so masking (138****1234) shows as it will in production."""
    return rng.choice(PHONE_PREFIXES) + f"{rng.randint(0, 99_999_999):08d}"
