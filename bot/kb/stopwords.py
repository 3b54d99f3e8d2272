"""Small stop-word lists (folded: lower case, no accents) for English, Italian, Polish.

Function words only: articles, pronouns, auxiliaries, prepositions, conjunctions
and fillers. Negations and question words are deliberately absent: "not" and
"why" change what a shopper asks. The matcher gives these words a lower weight
(``FeatureConfig.stop_weight``) rather than dropping them.
"""

from __future__ import annotations

_EN = """
a an the i me my mine myself we us our ours you your yours yourself he him his she her
hers it its itself they them their theirs this that these those am is are was were be
been being have has had having do does did doing will would shall should can could may
might must of at by for with about to from in on into onto over under up down out off
and or but so if then than too very just also as please pls plz hi hello hey thanks
thank thx dear there here some any anything something one ones im ive id ill get got
would like want need let us know tell"""

_IT = """
il lo la i gli le un uno una l un di a da in con su per tra fra del dello della dei degli
delle al allo alla ai agli alle dal dallo dalla dai dagli dalle nel nello nella nei negli
nelle sul sullo sulla sui sugli sulle e ed o od ma se che chi cui mi ti si ci vi ne io tu
lui lei noi voi loro mio mia miei mie tuo tua tuoi tue suo sua suoi sue nostro nostra
nostri nostre vostro vostra vostri vostre questo questa questi queste quello quella
quelli quelle sono sei e siamo siete ho hai ha abbiamo avete hanno ero era erano essere
avere stato stata ciao salve buongiorno buonasera grazie per favore prego vorrei voglio
potrei posso puoi potete devo devi anche molto gia allora poi cosi"""

_PL = """
i a o u w we z ze na do od po za przez przy dla bez pod nad przed miedzy oraz lub albo
ale czy to ten ta te tego tej tym tych ja ty on ona ono my wy oni one mnie mi mna ciebie
cie tobie ci go mu jej ich im nam wam nas was sie moj moja moje moi mojego mojej mojemu
moim moich twoj twoja twoje jego jest sa byl byla bylo byli bede bedzie jestem jestes
mam masz ma mamy macie maja prosze dzien dobry dziekuje dzieki witam czesc hej bardzo tez
juz jako tak by bym bys chce chcialbym chcialabym moge mozna mozesz
musze trzeba"""

STOP_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset(_EN.split()),
    "it": frozenset(_IT.split()),
    "pl": frozenset(_PL.split()),
}
