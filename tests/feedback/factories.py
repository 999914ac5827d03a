"""Factories of the feedback tests."""

from datetime import UTC, datetime

import factory

from feedback.models import QueueItem, ReplyTemplate, Review, ReviewAnalysis
from tests.factories import OrderFactory


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    external_id = factory.Sequence(lambda n: f"rev-{n}")
    order = factory.SubFactory(OrderFactory)
    source = Review.Source.STORE
    score = 5
    text = "Produto excelente, chegou antes do prazo"
    language = "pt"
    created_at_source = datetime(2018, 3, 10, 12, 0, tzinfo=UTC)


class ReviewAnalysisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReviewAnalysis

    review = factory.SubFactory(ReviewFactory)
    language = "pt"
    sentiment = Review.Label.NEGATIVE
    probability = 0.9
    topics = factory.LazyFunction(list)
    analyzed_at = datetime(2018, 3, 11, tzinfo=UTC)


class QueueItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QueueItem

    review = factory.SubFactory(ReviewFactory)
    priority = 50.0


class ReplyTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReplyTemplate

    topic = ""
    language = "pt"
    name = factory.Sequence(lambda n: f"template {n}")
    body = "Olá, pedido {order_number}"


# A small hand-written labelled corpus: enough for the models to learn the obvious words in tests.
CORPUS = {
    "pt": {
        "positive": [
            "produto excelente, chegou antes do prazo",
            "muito bom, recomendo a loja",
            "ótimo produto, entrega rápida",
            "adorei, qualidade excelente",
            "chegou certinho, muito bom",
            "recomendo, produto ótimo e bem embalado",
            "excelente vendedor, tudo certo",
            "gostei muito, chegou rápido",
            "perfeito, ótima qualidade",
            "entrega no prazo, produto excelente",
        ],
        "negative": [
            "péssimo, o produto não chegou",
            "produto quebrado, muito ruim",
            "não recebi o pedido, péssimo atendimento",
            "horrível, veio com defeito",
            "ruim, atrasou muito e veio quebrado",
            "não recomendo, produto péssimo",
            "péssima qualidade, não funciona",
            "comprei e não chegou, ruim demais",
            "veio errado e ninguém responde, péssimo",
            "muito ruim, produto com defeito",
        ],
    },
    "en": {
        "positive": [
            "great product, works perfectly",
            "excellent quality, highly recommend",
            "love it, arrived early",
            "very good value, great seller",
            "perfect, exactly what i wanted",
            "works great, excellent",
            "really good, i love this",
            "great service, fast delivery",
            "excellent item, very happy",
            "good quality and great price",
        ],
        "negative": [
            "terrible product, broke after a day",
            "awful quality, do not buy",
            "never arrived, terrible service",
            "bad, it does not work",
            "waste of money, awful",
            "horrible, broken on arrival",
            "poor quality, very bad",
            "terrible, stopped working",
            "bad product, do not recommend",
            "awful seller, never again",
        ],
    },
    "zh": {
        "positive": [
            "非常好吃，送餐很快",
            "服务很好，房间干净",
            "质量很好，非常满意",
            "好吃，味道不错，很满意",
            "酒店很好，服务热情",
            "非常满意，推荐",
            "很好很好，下次还来",
            "味道很好，分量足",
            "不错，很满意，好评",
            "很快送到，好吃",
        ],
        "negative": [
            "太难吃了，送餐太慢",
            "服务很差，房间很脏",
            "质量差，非常失望",
            "难吃，再也不点了",
            "酒店太差，服务态度不好",
            "很差，不推荐",
            "太慢了，等了两个小时，差评",
            "味道很差，分量少",
            "失望，很差，差评",
            "送错了，难吃",
        ],
    },
}


def corpus_reviews(
    *, languages: tuple[str, ...] = ("pt", "en", "zh"), copies: int = 1, written_at=None, prefix: str = ""
) -> list[Review]:
    """The hand-written CORPUS as imported labelled reviews; ``copies`` > 1 adds numbered variants of each text."""
    return Review.objects.bulk_create(
        Review(
            source=Review.Source.IMPORT,
            channel=f"{prefix}corpus-{language}",
            external_id=f"{language}-{label}-{i}" + (f"-{copy}" if copy else ""),
            label=label,
            text=f"{text} {copy}" if copy else text,
            language=language,
            created_at_source=written_at,
        )
        for language in languages
        for label, texts in CORPUS[language].items()
        for i, text in enumerate(texts)
        for copy in range(copies)
    )
