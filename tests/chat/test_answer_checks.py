"""How an answer is judged: holding a gold answer, saying the documents do not hold it, and naming things no
passage holds (the "ungrounded" flag of the API and the page)."""
import pytest

from ragjet.bench.answer_scores import holds_answer
from ragjet.flow.sources import collect_sources
from ragjet.rag.doc_node import DocNode
from ragjet.chat.prompt import numbered_context
from ragjet.text.abstention import says_not_found
from ragjet.text.grounding import grounding_notice, ungrounded_terms

PASSAGES = ["The university was founded in 1842 by Father Edward Sorin.",
            "The `map` store keeps every node in memory; enterprise deployments usually pick Milvus.",
            "牛车水是新加坡的一个历史地区，位于新加坡河南岸。"]


@pytest.mark.parametrize("answer, gold, language, held", [
    ("It was founded by Father Edward Sorin in 1842 [1].", "Edward Sorin", "en", True),
    ("The founder was a priest of the Congregation of Holy Cross.", "Edward Sorin", "en", False),  # paraphrase
    ("The Sorinian order founded it.", "Sorin", "en", False),  # a longer word is not the word
    ("THE MAP store.", "the map", "en", True),  # SQuAD normalisation: case, article, punctuation
    ("事件发生在1927年的3月12日。", "1927年3月12日", "zh", True),  # the characters in order
    ("牛车水，位于新加坡河南岸！", "新加坡河南岸", "zh", True),
    ("事件发生在三月。", "1927年3月12日", "zh", False),
    ("anything", "", "en", False),
])
def test_an_answer_in_sentences_holds_the_gold_answer(answer, gold, language, held):
    assert holds_answer(answer, gold, language) is held


@pytest.mark.parametrize("answer, abstains", [
    ("The documents do not contain the answer.", True),
    ("The passage does not mention who won the award.", True),
    ("There is no information about the founder in the passages.", True),
    ("I cannot answer this from the passages.", True),
    ("文档中没有答案。", True),
    ("段落中没有提到这个人。", True),
    ("文档未提及此事。", True),
    ("The map store keeps every node in memory.", False),
    ("He did not win the award until 1999.", False),
    ("Milvus is not slow; it is fast.", False),
    ("牛车水是新加坡的街道。", False),
    ("不同的相似度适合不同的文本。", False),
])
def test_an_answer_that_says_the_documents_do_not_hold_it_is_recognised(answer, abstains):
    assert says_not_found(answer) is abstains


def test_names_and_numbers_no_passage_holds_are_ungrounded():
    assert ungrounded_terms("It was founded in 1842 by Edward Sorin [1].", PASSAGES, "When was it founded?") == []
    assert ungrounded_terms("It was founded in 1851 by John Smith.", PASSAGES, "When was it founded?") == \
        ["1851", "John", "Smith"]
    # what the question says is not invented by repeating it; an abstention names nothing
    assert ungrounded_terms("Zorblax Quimby founded it.", PASSAGES, "Did Zorblax Quimby found it?") == []
    assert ungrounded_terms("The documents do not say who founded Zorblax.", PASSAGES, "Who?") == []
    assert ungrounded_terms("Enterprise deployments pick `Milvus`.", PASSAGES, "Which?") == []
    assert ungrounded_terms("牛车水是新加坡的一个历史地区。", PASSAGES, "牛车水是什么？") == []
    assert ungrounded_terms("牛车水位于马来西亚吉隆坡。", PASSAGES, "牛车水在哪里？") == ["于马来西亚吉隆坡"]
    # the edges of a run that the question holds are not shown ("话发" of 电话|发明)
    assert ungrounded_terms("电话发明人是李大钊。", PASSAGES, "谁发明了电话？") == ["人是李大钊"]
    assert "1851" in grounding_notice(["1851"], "When?") and "关键词" in grounding_notice(["李华"], "是谁？")


def test_the_collector_checks_grounding_only_against_numbered_passages():
    nodes = [DocNode(uid=f"n{i}", text=text) for i, text in enumerate(PASSAGES)]
    with collect_sources() as sources:
        numbered_context(nodes, "Who founded the university?")
    grounded = sources.check_grounding("Father Edward Sorin founded it in 1842.")
    assert grounded.ungrounded == [] and not grounded.flagged and sources.notices == []
    # a sentence's first word is not taken for a name (it is capitalised anyway); the rest of the name is
    assert sources.check_grounding("Zorblax Quimby founded it in 1777.").ungrounded == ["Quimby", "1777"]
    assert "Quimby, 1777" in sources.notices[0]
    with collect_sources() as plain:  # passages shown as the answer itself: nothing to check
        plain.record(nodes)
    assert not plain.check_grounding("Zorblax").flagged and plain.notices == []


def test_a_title_the_model_read_in_a_passage_s_file_name_is_grounded():
    """The prompt shows each passage under its file's name; a model quoting the document's title from it
    is not flagged (the lecture's PDF 附件1-北京市引进人才管理办法（试行）.pdf, cited by its title)."""
    from ragjet.flow.sources import shown_texts
    from ragjet.rag.doc_node import DocNode

    node = DocNode(uid="a", text="第十五条 加强引进人才落户保障。",
                   global_metadata={"file_path": "/docs/附件1-北京市引进人才管理办法（试行）.pdf"})
    answer = "引进人才需要符合《北京市引进人才管理办法（试行）》第十五条。"
    assert "管理办" in "".join(ungrounded_terms(answer, [node.get_content()], "北京市引进人才需要什么条件？"))
    assert ungrounded_terms(answer, shown_texts([node]), "北京市引进人才需要什么条件？") == []


EVIDENCE_PASSAGES = [
    "Gurian received a German Catholic education. The Review of Politics was founded in 1939 by Gurian, modeled "
    "after German Catholic journals. It quickly emerged as part of an international Catholic intellectual revival.",
    "其陆地管辖面积为1750.33km²，在西班牙城市中是最大的。卡塞雷斯城是罗马人在公元前25年建立的。",
]


@pytest.mark.parametrize("answer, question, source, sentence", [
    # the sentence holding the answer's own words, not the question's
    ("Gurian founded The Review of Politics.", "What did Gurian create in 1939?", 1,
     "The Review of Politics was founded in 1939 by Gurian, modeled after German Catholic journals."),
    # a wrong answer is quoted beside the sentence that contradicts it
    ("Gurian's journal was an international revival.", "What did Gurian create in 1939?", 1,
     "It quickly emerged as part of an international Catholic intellectual revival."),
    ("卡塞雷斯的陆地面积是1750.33km²。", "卡塞雷斯的陆地面积是多大？", 2, "其陆地管辖面积为1750.33km²，在西班牙城市中是最大的。"),
])
def test_the_evidence_is_the_passage_sentence_holding_the_answer_s_own_words(answer, question, source, sentence):
    from ragjet.text.evidence import evidence_sentence

    assert evidence_sentence(answer, EVIDENCE_PASSAGES, question) == (source, sentence)


@pytest.mark.parametrize("answer", [
    "The documents do not contain the answer to this question.", "文档中没有这个问题的答案。", "",
    "Gurian created it in 1939.",  # nothing beyond the question's words
    "Zorblax Quimby wrote poems.",  # nothing any passage holds
])
def test_an_abstention_or_an_answer_sharing_nothing_with_the_passages_has_no_evidence(answer):
    from ragjet.text.evidence import evidence_sentence

    assert evidence_sentence(answer, EVIDENCE_PASSAGES, "What did Gurian create in 1939?") is None


@pytest.mark.parametrize("question, yes_no", [
    ("招标人可以自行办理招标事宜吗？", True), ("招标人是否可以自行办理招标事宜", True), ("引进人才能不能落户？", True),
    ("Can the bidder choose the agent?", True), ("Is Mars red?", True), ("does it restart fast", True),
    ("招标人可以做什么？", False), ("评标由谁负责？", False), ("What did Gurian create in 1939?", False),
    ("Which store keeps every node in memory?", False), ("", False),
])
def test_a_yes_or_no_question_is_told_apart(question, yes_no):
    from ragjet.text.evidence import asks_yes_or_no

    assert asks_yes_or_no(question) is yes_no


def test_a_yes_said_in_the_question_s_words_is_quoted_by_the_sentence_holding_them():
    from ragjet.text.evidence import evidence_sentence

    passages = ["第十二条 招标人有权自行选择招标代理机构。招标人具有编制招标文件和组织评标能力的，可以自行办理招标事宜。"]
    assert evidence_sentence("招标人可以自行办理招标事宜。", passages, "招标人可以自行办理招标事宜吗？") == (
        1, "招标人具有编制招标文件和组织评标能力的，可以自行办理招标事宜。")
    # the same words answering another question say nothing: no evidence
    assert evidence_sentence("招标人可以自行办理招标事宜。", passages, "招标人可以自行办理招标事宜的条件是什么") is None


def test_a_long_evidence_sentence_is_shown_around_its_match():
    from ragjet.text.evidence import MAX_CHARS, evidence_sentence

    line = "表格" * 400 + "芙蓉洞位于重庆武隆县江口镇的芙蓉江畔" + "数据" * 400  # one unpunctuated line
    found = evidence_sentence("芙蓉洞在重庆武隆县江口镇。", [line], "芙蓉洞位于什么地方？")
    assert found.source == 1 and "重庆武隆县江口镇" in found.text
    assert found.text.startswith("…") and found.text.endswith("…") and len(found.text) <= MAX_CHARS + 2


def test_the_collector_quotes_evidence_only_from_numbered_passages():
    nodes = [DocNode(uid=f"e{i}", text=text) for i, text in enumerate(EVIDENCE_PASSAGES)]
    with collect_sources() as sources:
        numbered_context(nodes, "What did Gurian create in 1939?")
    assert sources.check_grounding("The Review of Politics.").evidence.source == 1
    with collect_sources() as plain:  # passages shown as the answer itself: they are their own evidence
        plain.record(nodes)
    assert plain.check_grounding("The Review of Politics.").evidence is None


@pytest.mark.parametrize("answer, question, unsupported", [
    # words beyond the question's that no sentence holds: an invented answer to a question near the documents
    ("北京市引进人才可以获得安家补贴五千元。", "北京市引进人才可以获得多少安家补贴？", True),
    ("证券公司发布的。", "《证券公司客户资金账户管理规则》是哪个机构发布的？", True),  # the question said back
    ("The documents do not contain the answer to this question.", "安家补贴是多少？", False),  # an abstention
    ("评标由招标人依法组建的评标委员会负责。", "评标由谁负责？", False),
    # a yes said in the question's own words, which a sentence holds: right, not invented (it was flagged)
    ("招标人可以自行办理招标事宜。", "招标人可以自行办理招标事宜吗？", False),
    ("The bidder can choose the agent.", "Can the bidder choose the agent?", True),  # no sentence holds it
])
def test_an_answer_no_sentence_of_its_passages_supports_is_flagged_unsupported(answer, question, unsupported):
    """On the shared samples every chat answer without evidence was wrong (6 of 60): it is flagged, with a
    notice, though none of its words is a name or a number."""
    nodes = [DocNode(uid="z1", text="第三十七条 评标由招标人依法组建的评标委员会负责。"),
             DocNode(uid="z2", text="第十五条 引进人才无产权房屋的，可在聘用单位的集体户落户。"),
             DocNode(uid="z3", text="第十二条 招标人具有编制招标文件和组织评标能力的，可以自行办理招标事宜。")]
    with collect_sources() as sources:
        numbered_context(nodes, question)
    grounding = sources.check_grounding(answer)
    assert grounding.unsupported is unsupported and grounding.flagged is unsupported
    assert bool(sources.notices) is unsupported
    assert not unsupported or any(says in sources.notices[0] for says in ("可能是模型编造的", "may have made it up"))


def test_a_number_written_against_chinese_is_a_key_term():
    """"安家补贴1000元" hid its number inside one run of word characters; a passage's "满2年" holds "2"."""
    from ragjet.text.grounding import key_terms

    assert key_terms("北京市引进人才可以获得安家补贴1000元。") == ["1000"]
    assert key_terms("主演是Barry Nelson。") == ["Barry", "Nelson"]
    assert ungrounded_terms("安家补贴1000元。", ["共有10000人。"], "安家补贴多少？") == ["1000"]
    assert ungrounded_terms("工作满2年。", ["一般应在聘用单位工作满2年。"], "工作满几年？") == []


def test_a_sentence_wrapped_over_lines_is_quoted_whole_and_a_short_code_term_counts():
    from ragjet.text.evidence import evidence_sentence

    passage = ("# Choosing a store\n\nThe `map` store keeps every node in memory\nand writes nothing to disk.\n"
               "- `chroma` keeps them\n- on disk")
    assert evidence_sentence("It is the `map` store.", [passage], "Which store keeps nodes in memory?") == (
        1, "The `map` store keeps every node in memory and writes nothing to disk.")
