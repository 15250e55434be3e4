"""The questions the benchmarks ask (a module of its own: the serving probe imports nothing else
before its first answer)."""

QUESTIONS = (
    "What did Suga say?", "Why did New Zealand reject Spark's Huawei 5G plan?",
    "What does section 889 of the defense act ban?", "What did BT announce about Huawei?",
    "Which companies did the FCC designate as national security threats?",
    "How did China react to the ban on Huawei?", "What did the UK decide about Huawei in 2020?",
    "Why is ZTE considered a security risk?", "What did Australia's 5G security guidance say?",
    "Which countries banned Huawei from their 5G networks?",
    "What are the costs of removing Huawei equipment?", "What did Geng Shuang say?",
)
