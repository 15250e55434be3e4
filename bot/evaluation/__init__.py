"""The evaluation harness: a gold set of questions over the corpus, mechanical metrics, floors."""
