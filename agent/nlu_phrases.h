/* nlu_phrases.h — the built-in understanding's vocabulary: the phrase
 * patterns nlu.c matches (pattern syntax at "phrase patterns" in nlu.c).
 * Included once, by nlu.c only: this is where phrasings are added when
 * `make eval` shows a miss on the tuning split (tests/eval/README.md). */
#ifndef RD_NLU_PHRASES_H
#define RD_NLU_PHRASES_H

/* ---- phrase tables ---------------------------------------------------
 * Words are folded (no accents) and apostrophes inside words are gone:
 * "não" is "nao", "don't" is "dont", "llegó" is "llego". */

/* Words that name the refund or the money itself. */
static const char money_words[] =
	"refund*|reembols*|estorn*|dinheiro|dinero|money|devolucion|devolucao|"
	"reimburs*|pix|pagamento|plata|grana|valor";

static const char *const human_pats[] = {
	"talk|speak|chat|speaking|talking|connect|transfer|put ..1 to|with ..2 human|humans|person|"
	"agent|agents|someone|somebody|representative|rep|manager|supervisor|operator|people|staff|"
	"employee|attendant",
	"real|live|actual ..1 person|human|agent|people|someone",
	"want|need|get|give ..3 human|person|agent|representative|operator",
	"human ..1 please|agent|being|support",
	"operator|operador|atendente|atendentes|asesor|representative|representante|representantes",
	"nao|no|dont|not ..1 quero|quiero|want ..2 robo|robot|bot|maquina|machine",
	"atencion|servicio|atendimento al|ao cliente|clientes",
	"ayuda|ajuda|help de|da|from|of ..1 persona|pessoa|humano|human|person|alguien|alguem|agente",
	"someone|somebody|anyone|alguien|alguem ..3 call|phone|talk|speak|llamar|ligar|hablar|falar",
	"falar|conversar|fale|chamar|chama|falo|passa|passe|transferir|transfere ..1 com|para|pra|pro|"
	"um|uma|o|a ..2 atendente|humano|humana|pessoa|gerente|supervisor|operador|alguem|"
	"responsavel|funcionario|atendimento",
	"atendimento humano", "pessoa|persona real|humana",
	"pessoa|persona de verdade|verdad", "a|an|um|uma|algum|alguma|un|una human|humano|humana",
	"quero|preciso|quiero|necesito ..2 humano|atendente|agente|asesor|operador|humana",
	"hablar|habla|hablo|comunicarme|comunicame|conectame|conversar|platicar|pasame|pasarme|"
	"comunicar|transfiereme ..1 con|a ..2 "
	"persona|agente|humano|asesor|operador|representante|alguien|supervisor|encargado|ejecutivo",
	NULL
};

/* Not every "no ... arrive" is about the refund: the object must follow
 * closely, or "no llegó, quiero mi dinero" would read as a status question. */
static const char *const status_pats[] = {
	"where|wheres ..2 refund*|money|reimbursement",
	"refund|reimbursement status|state|update|progress",
	"status|update|updates|news|progress ..3 refund|reimbursement",
	"did|have|has|didnt|havent you|u|they ..1 refund|refunded|reimburse|reimbursed",
	"did|have|has|didnt you|u|they guys|all? send|sent|process|processed|issue|issued|approve|"
	"approved ..2 refund|money",
	"when ..1 will|do|does|can|should|is ..3 refund|money|reimbursement",
	"has|did|is|was my|the refund ..2 gone|go|been|processed|sent|approved|through|done|issued|"
	"completed",
	"refund|money ..2 yet", "still ..3 waiting|no ..3 refund|money",
	"havent|didnt|hasnt|never|not received|receive|get|got|gotten|seen|see my|the|any|a? "
	"refund|money|reimbursement",
	"refund|reimbursement|money ..2 not|hasnt|havent|didnt|isnt|never ..1 arrived|arrive|come|"
	"came|showed|show|received|appeared|landed|here|hit|posted|shown",
	"no refund|reimbursement ..3 yet|arrived|received|so", "track|tracking ..2 refund",
	"cade ..2 reembolso|estorno|dinheiro|devolucao|grana",
	"onde ..1 esta|ta|anda ..2 reembolso|estorno|dinheiro|devolucao",
	"status|situacao|andamento ..3 reembolso|estorno|devolucao",
	"reembolso|estorno|dinheiro|devolucao ..3 caiu|cai|entrou|saiu|processado|aprovado|andamento",
	"ja caiu|entrou|processaram|estornaram|reembolsaram",
	"fizeram|fez|fazem ..2 estorno|reembolso",
	"quando ..3 reembolso|estorno|dinheiro|devolucao",
	"nao recebi|recebeu|caiu|chegou|entrou o|a|meu|minha? reembolso|estorno|dinheiro|devolucao",
	"reembolso|estorno|dinheiro|devolucao ..4 nao ..1 chegou|caiu|entrou|recebi|apareceu",
	"foi|foram|ja estornado|reembolsado|estornada|reembolsada|estornou|reembolsou",
	"voces|vcs ..2 estornaram|reembolsaram|devolveram", "donde ..2 reembolso|dinero|devolucion",
	"estado ..3 reembolso|devolucion", "cuando ..3 reembolso|dinero|devolucion",
	"no ..1 recibido|recibi|llegado|llego|llega|cae|cayo mi|el|la? reembolso|dinero|devolucion|plata",
	"reembolso|dinero|devolucion ..4 no ..2 llegado|llego|llega|recibido|recibi|aparece|cae|cayo|"
	"entrado|entro|aparecido",
	"ya ..2 reembolsaron|reembolsado|devolvieron|procesaron",
	"todavia|aun ..3 reembolso|devolucion", "seguimiento ..2 reembolso|devolucion",
	"refund|refunded|money ..4 ago",
	"quanto|cuanto|how tempo|tarda|tardan|demora|demoram|long|tiempo ..3 reembolso|estorno|devolucao|"
	"devolucion|dinheiro|dinero|refund|money|reimbursement|plata|grana",
	"email|mail|message|notification ..2 saying|says|said|dizendo|diciendo ..1 refunded|reembolsado",
	"dont|cant|didnt|not|nao|no see|seeing|vejo|veo ..4 bank|statement|fatura|extrato|plata|dinero|"
	"dinheiro|reembolso|estorno|refund|money|grana",
	"novidade|novidades|noticias|novedades|news|update|updates ..3 reembolso|estorno|devolucao|"
	"devolucion|refund|dinheiro|dinero|plata",
	"nada do|da|de|del reembolso|estorno|dinheiro|devolucao|dinero|devolucion|plata|grana",
	"esperando|aguardando|waiting ..3 refund|reembolso|estorno|dinheiro|devolucao|devolucion|dinero|"
	"plata|money|grana",
	"aprobaron|aprovaram|aprobado|aprovado|approved ..3 reembolso|estorno|devolucao|devolucion|refund",
	NULL
};

/* Status questions that are only one when they are the whole (short) message. */
static const char *const short_status_pats[] = {
	"e|y|and|what o|el|a|la|about? meu|mi|minha|my reembolso|estorno|devolucao|devolucion|"
	"dinheiro|dinero|plata|grana|refund|money $",
	NULL
};

/* Refusing a refund is a "no", not a refund request. */
static const char *const refund_no_pats[] = {
	"dont|not|didnt|never want|need ..2 refund|reembolso|return|money",
	"no refund|reembolso|estorno|devolucion please|needed|necesario|necessario|gracias|thanks|"
	"obrigado|$",
	"nao|no quero|quiero|preciso|necesito ..1 reembolso|estorno|devolucao|devolucion|dinheiro|"
	"dinero|devolver",
	"cancel*|cancela ..2 refund|reembolso|estorno|devolucion|devolucao|return",
	"sem|sin reembolso|estorno|devolucao|devolucion",
	"no|nope|nah|nao wrong|other|outro|otro order|pedido|orden|number|numero|one $",
	NULL
};

/* A refund named only to be set aside: "a replacement, not a refund". */
static const char *const refund_not_pats[] = {
	"not a|an refund",
	"instead|rather|vez|lugar|inves ..1 a|an|um|uma|un|una|o|el? refund|reembolso|estorno|"
	"devolucion|devolucao",
	NULL
};

static const char *const refund_pats[] = {
	"refund*|refnud|refun|refnd|refudn|reufnd|rfund|refound|refunf|rufund|reimburs*",
	"money|cash back", "my money",
	"return ..2 it|this|item|order|product|them|package|purchase", "want|like|need ..2 return",
	"send|give|pay ..2 back",
	"reembols*|rembols*|reenbols*|reembolco|estorn*|ressarc*|devolucao|devolucoes|devolucion*|"
	"reintegr*",
	"devolv*|devuelv* ..3 dinheiro|valor|grana|dinero|plata|produto|producto|pedido|compra|item|"
	"articulo",
	"quiero|quero|queria|quisiera|want|need ..3 de? volta|vuelta|back",
	"cobraron|cobraram|cobrou|cobro|charged|billed|overcharged ..4 mas|mais|extra|much|more",
	"dinheiro|dinero|grana|plata ..1 de volta|vuelta",
	"devolverlo|devolverla|devolverlos|devolvelo|devolvela|devolver",
	"quero|queria|quiero|quisiera ..2 dinheiro|grana|dinero|plata|devolver",
	"charged|billed|cobrado|cobrada|cobraram|cobrou|cobraron|cobro|cobranca ..2 twice|double|"
	"duplicate|duplicated|duplicada|duplicado|doble|indevida|indevido|duas|dos|2",
	"double ..1 charged|charge|billed|billing",
	NULL
};

static const char *const yes_pats[] = {
	"yes|yep|yeah|yea|yup|yess|yesss|sure|confirm|confirmed|correct|absolutely|definitely|"
	"certainly|proceed|thumbsup",
	"please do", "go ahead", "do it", "sounds good", "of course",
	"sim|simm|claro|pode|isso|confirmo|confirmado|confirma|bora|positivo|exato|correto|combinado",
	"com certeza", "pode ser", "manda ver", "isso mesmo",
	"si|dale|vale|perfecto|correcto|exacto|adelante|hazlo|listo|sale|uhum|aham|ahan|ss|sss|sip|va",
	"de acuerdo", "por supuesto",
	NULL
};

/* A yes that names what to do: "yes, refund it", "pode fazer o reembolso". */
static const char *const confirm_pats[] = {
	"yes|yeah|yep|sure|ok|okay|please ..1 refund|process|do ..1 it|that|$",
	"sim|pode|ok|claro ..1 fazer|faz|pode ..1 o|a? reembolso|estorno|devolucao|reembolsar|estornar",
	"si|dale|ok|claro ..1 reembolsalo|reembolsala|reembolsa|hazlo",
	NULL
};

/* Weak acknowledgements: a yes, except next to a thanks ("ok, thanks"). */
static const char *const ack_pats[] = {
	"ok|okay|okey|okk|oki|k|kk|alright|fine|perfect|great|cool|awesome|perfeito|certo|beleza|"
	"blz|bueno|bien|ta|tabom|entendi|entendido",
	"tudo bem", "esta bien", "ta bom",
	NULL
};

/* Affirmatives that contain a "no" word. */
static const char *const yes_over_no_pats[] = {
	"no problem|problemo|worries", "why not", "sem problema|problemas", "nao tem|ha problema",
	"no hay problema", "sin problema|problemas", "por que|porque no", "claro que si",
	NULL
};

/* "no" that abbreviates "number": "order no. 8421", "pedido n. 8421". */
static const char *const abbrev_pats[] = {
	"order|orders|pedido|orden|ordem|encomenda|number|numero no|n|nr|nro", NULL
};

static const char *const no_pats[] = {
	"no|nope|nah|nao|nop|naum|not|dont|cancel|cancela|cancele|cancelar|cancelalo|negative|"
	"nevermind|thumbsdown|jamais|jamas|nunca|nops|nel",
	"deixa pra|para la|isso", "asi ..1 dejalo|dejala", "forget it|about", "esquece|esqueca",
	"never mind", "mejor no", "de jeito nenhum", "nem pensar", "de ninguna manera", "claro que no",
	NULL
};

/* Words a short yes / no may carry without becoming something else. */
static const char filler_words[] =
	"please|pls|plz|thanks|thank|you|thx|ty|obrigado|obrigada|obg|valeu|vlw|gracias|muchas|mil|"
	"por|favor|i|me|my|it|that|thats|this|is|its|do|go|ahead|just|now|then|so|and|e|y|o|a|the|"
	"eu|yo|quero|quiero|want|fazer|faz|mesmo|ai|entao|agora|ahora|lo|la|el|que|meu|mi|bem|well|"
	"uh|hmm|ah|oh|sir|senhor|senhora|moco|amigo|friend|tks|hi|oi|hola|all|good|right|exactly|"
	"really|sorry|desculpa|perdon|esta|ya|tambem|tambien|also|too|can|way|more|mais|anymore|"
	"thing|obrigadao|order|pedido|orden|number|numero";

static const char *const thanks_pats[] = {
	"thanks|thank|thx|thks|tks|tnx|ty|thankyou|cheers|obrigado|obrigada|obrigadao|obg|brigado|"
	"brigada|brigadao|valeu|vlw|agradeco|gracias|grax|agradezco|agradecido|agradecida|grato|grata",
	NULL
};

static const char *const greeting_pats[] = {
	"hi|hello|hey|hiya|howdy|hallo|helo|oi|oie|ola|hola|buenas|saludos|eai|opa|alo|holaa|holaaa|"
	"holi|holis|oii|oiii|oiee|hii|hiii|heyy|heyyy|helloo|olaa",
	"good morning|afternoon|evening|day", "bom dia", "boa tarde|noite", "buenos dias",
	"buen dia", "e ai",
	NULL
};

static const char *const damaged_pats[] = {
	"broken|broke|damaged|cracked|shattered|smashed|dented|torn|ripped|defective|faulty|busted",
	"doesnt|dont|wont|isnt|not|stopped work|working",
	"quebrado|quebrada|quebrados|quebradas|quebrou|danificado|danificada|danificados|"
	"danificadas|amassado|amassada|rachado|rachada|rasgado|rasgada|defeito|defeituoso|"
	"defeituosa|estragado|estragada|estragou",
	"nao funciona|liga", "trincado|trincada|trincou",
	"parou|dejo|stopped ..1 de? funcionar|ligar|servir|andar",
	"roto|rotos|danado|danada|danados|danadas|estropeado|estropeada|defectuoso|defectuosa|"
	"averiado|averiada|rajado|rajada",
	"@es rota|rotas", "no funciona|sirve|enciende",
	NULL
};

static const char *const wrong_item_pats[] = {
	"wrong item|items|size|color|colour|product|one|thing|model|order|package|article|version",
	"sent|send|shipped|received|got|delivered ..2 wrong", "not what i ordered|bought|purchased",
	"veio|vieram|chegou|mandaram|enviaram|recebi ..2 errado|errada|errados|erradas|trocado|trocada",
	"produto|item|tamanho|cor|modelo|pedido|numero|numeracao errado|errada|trocado|trocada",
	"nao e o|oque ..1 eu? pedi|comprei",
	"equivocado|equivocada|equivocados|equivocadas|incorrecto|incorrecta|incorrectos",
	"no es lo ..1 que ..1 pedi|compre|ordene",
	"pedi|encomendei|ordered|asked ..4 e|y|and|but|mas|pero me? mandaram|enviaram|vieram|veio|"
	"chegou|llego|mandaron|enviaron|got|received|sent|came",
	"sent|received|got|came|delivered|size|color|colour|tamanho|talla|cor ..4 instead",
	"sent|shipped|delivered ..4 i ordered|wanted|asked|bought|chose",
	NULL
};

static const char *const not_described_pats[] = {
	"not as described|advertised|pictured|shown|expected",
	"different from|than|to ..2 photo|photos|picture|pictures|description|ad|advert|listing|"
	"website|site|image|images|advertised|described",
	"not what was|it ..1 advertised|described|shown",
	"diferente do|da|de|das|dos ..2 anuncio|anunciado|foto|fotos|descricao|imagem|imagens|site",
	"nao e|esta|era|veio ..1 como ..1 descrito|descrita|anunciado|anunciada|mostrado",
	"nao corresponde",
	"no es|esta|era|vino ..1 como ..2 describe|describia|describio|anunciaba|anunciado|descrito",
	"diferente a|de|del|al ..2 foto|fotos|descripcion|anuncio|imagen|imagenes|publicacion",
	"nothing|not|doesnt|dont like ..2 photo|photos|picture|pictures|description|ad|listing|image|"
	"images|website|site",
	"no corresponde",
	NULL
};

static const char *const late_pats[] = {
	"late|delayed|delay|delays", "took|taking|takes ..2 long|forever",
	"atrasado|atrasada|atrasou|atraso|atrasados|demorou|demorando",
	"chegou|veio|entregue|entregaram|llego|vino|entregaron|entregado ..1 tarde",
	"muito|muy|demasiado|bem ..1 tarde",
	"retrasado|retrasada|retraso|retrasados|demoro|tardo|tardaron|demorado|demorada|tardando",
	"passou|passo|paso|past|passed|missed ..2 prazo|plazo|deadline|fecha",
	"cade|donde|wheres|where ..2 pedido|order|encomenda|paquete|package|orden|pacote|parcel",
	NULL
};

/* Checked against the words before them (see match_clear_of). */
static const char *const missing_pats[] = {
	"never|not|didnt|hasnt|havent|wasnt got|been|get? arrived|arrive|came|come|delivered|shipped|"
	"showed|here",
	"never|not|didnt|havent|hasnt received|receive|get|got|gotten it|anything|them|$",
	"never|not|didnt|havent|hasnt received|receive|get|got|gotten my|the|an|any|a? order|package|"
	"parcel|item|product|delivery|shipment|purchase|stuff",
	"lost|missing", "nao|nunca ..1 chegou|chegaram|veio|entregue|entregaram|entregou",
	"nao|nunca ..1 recebi|recebemos|recebido $",
	"nao|nunca ..1 recebi|recebemos|recebido o|a|meu|minha|os|as|meus|minhas? produto|pedido|"
	"encomenda|pacote|item|compra|nada|mercadoria|produtos|itens|entrega",
	"extraviado|extraviada|extraviou|sumiu|perdido|perdida|perderam|extravio|perdio|perdieron",
	"no|nunca ..1 llego|llegaron|llegado|entregaron|entregado|vino", "no|nunca llega|llegan",
	"no|nunca ..2 recibi|recibido $",
	"no|nunca ..2 recibi|recibido el|la|mi|los|las|mis? pedido|paquete|producto|compra|articulo|"
	"nada|envio|orden",
	"no lo|la|los|las recibi|recibo|he",
	"faltou|faltaram|faltando|faltam|falto|faltaba|faltan|faltante|faltantes|incompleto|incompleta",
	"falta um|uma|una|un|o|a|el|la|algo", "only|just got|received|came ..1 1|one|half|part|some",
	NULL
};

/* A bare "tarde" is late, but not in "boa tarde", "mais tarde", "por la tarde". */
static const char *const tarde_pats[] = { "tarde", NULL };
static const char not_late_tarde[] =
	"boa|buena|la|de|da|a|na|esta|essa|por|pela|una|uma|toda|cada|mais|mas|otra|outra";

static const char *const changed_mind_pats[] = {
	"changed|change my|of ..1 mind", "dont|not ..1 want|need ..2 anymore|more",
	"no longer want|need", "nao quero|preciso ..1 mais $",
	"nao quero|preciso ..1 mais o|a|os|as|isso|esse|essa|ele|ela|produto|item|pedido",
	"desisti|desistir|desisto|arrependi|arrependido|arrependida|arrepenti|arrepentido|arrepentida",
	"mudei de ideia|opiniao", "ya no ..1 lo|la|los|las? quiero|necesito",
	"cambie de opinion|idea", "ja nao quero|preciso",
	NULL
};

static const char *const injection_pats[] = {
	"ignore|ignora|ignorar|disregard|forget|esqueca|esquece|esquecer|olvida|olvide|olvidar|"
	"bypass|skip|override ..3 rule|rules|instruction|instructions|policy|policies|prompt|prompts|"
	"guidelines|limits|regra|regras|instrucao|instrucoes|politica|politicas|limite|limites|regla|"
	"reglas|instruccion|instrucciones|restricciones|restricoes",
	"disregard|override|jailbreak|jailbroken|sudo",
	"you are now", "youre now", "voce|vc agora e|sera", "agora voce|vc e", "ahora eres|seras",
	"system ..1 prompt|message|instructions", "prompt do|del sistema",
	"as|como an|a|um|uma|un|una|the|o|el? admin|administrator|developer|dev|root|sysadmin|"
	"administrador|desenvolvedor|desarrollador|programador",
	"i|im|sou|soy am? the|a|an|o|el|um|uma|un|una? admin|administrator|developer|administrador|"
	"desenvolvedor|desarrollador",
	"developer|dev|admin|god|debug mode", "modo desenvolvedor|desarrollador|admin|administrador|debug",
	"act|acting as if|a|an|my|the|though", "pretend you|to|that|youre", "finja|finge|finjas que",
	"actua|actue|aja|age|haz|faz ..2 como si|se fueras|fueses|fuera|fosses|fosse",
	"como si fueras|fueses", "como se fosses|voce fosse",
	"new|novas|nuevas|nova|nueva instructions|instruction|instrucoes|instrucao|instrucciones|"
	"instruccion|rules|regras|reglas|regra|regla",
	/* someone's say-so in place of the policy: "my manager approved it" */
	"manager|supervisor|boss|ceo|owner|director|gerente|chefe|jefe|dono|dueno|diretor|director|"
	"supervisora|gerencia ..4 approved|authorized|authorised|okayed|signed|aprovou|autorizou|"
	"aprovado|autorizado|aprobo|autorizo|aprobado",
	"approved|authorized|authorised|aprovado|autorizado|aprobado ..3 by|pelo|pela|por ..2 "
	"manager|supervisor|boss|ceo|owner|director|gerente|chefe|jefe|dono|dueno|diretor|"
	"supervisora|gerencia",
	/* more than what was offered: "now make it double" */
	"make|send|refund|give|faz|faca|manda|mande|haz|hazlo|manda|dame|me ..2 it|that? "
	"double|triple|twice|2x|10x|dobro|triplo|doble|triple",
	"o|el|en dobro|triplo|doble|triple do|de|del? valor|reembolso|estorno|monto|dinheiro|dinero",
	NULL
};

/* A payout destination the customer names ("refund it to my wallet"). */
static const char dest_pat[] =
	"refund*|reembols*|estorn*|devolv*|devuelv*|send|sent|envie|enviar|envia|enviem|manda|mande|"
	"mandar|mandem|mandalo|mandamelo|envialo|enviamelo|depositalo|devuelvelo|devuelvemelo|"
	"deposit*|pay|pague|paga|transfer*|transfir*|transfier*|wire|pix|credit* ..6 "
	"to|into|para|pra|pro|na|no|en|al|a|on ..3 account|acct|wallet|card|iban|pix|conta|carteira|"
	"cartao|cuenta|billetera|tarjeta|paypal|chave|clabe|cbu|cvu|alias|btc|bitcoin|crypto|cripto|"
	"usdt|venmo|zelle|cashapp|revolut|nubank|mercadopago";

/* Words for an account that a number right after names (account 12345678). */
static const char account_words[] =
	"account|acct|iban|conta|cuenta|wallet|carteira|billetera|agencia|routing|clabe|cbu|cvu";

/* Money sent to something named by a number (an account, a pix key). */
static const char transfer_pat[] =
	"refund*|reembols*|estorn*|transfer*|transfir*|transfier*|wire|send|envie|envia|manda|mande|"
	"deposit* ..4 to|into|para|pra|al";

static const char *const chargeback_pats[] = {
	"chargeback*|contracargo*", "charge ..1 back",
	"dispute ..3 bank|card|credit|charge|paypal|visa|mastercard|amex|issuer|transaction|payment",
	"open|file|opening|filing|raise|start|initiate|submit ..2 dispute|disputes",
	"call|contact|calling|report ..3 bank",
	"contestar|contesto|contestarei|contestacao|contestando|contestei ..3 banco|operadora|cartao|"
	"compra|cobranca|fatura|visa|mastercard|nubank",
	"abrir|abro|abrirei|abri|vou ..2 disputa|contestacao",
	"reclamar|reclamo|reclamare|quejarme|queja|denunciar ..2 al|a|con|ante|en ..2 banco|tarjeta|"
	"emisor",
	"disputa ..3 banco|tarjeta|cartao|bank",
	"desconocer|desconocere|desconozco ..2 cargo|compra|cobro",
	"ligar|ligarei|llamar|llamare ..2 banco",
	NULL
};

/* Payment words that let a bare number be an amount (see nlu_entities.c). */
static const char payment_pat[] =
	"paid|pay|paguei|pague|pago|charged|cobrado|cobraram|cobraron|cost|costs|custou|costo";

/* Words that keep a named payout destination the original one. */
static const char original_words[] = "original|same|mesmo|mesma|mismo|misma|usual";
static const char yes_letter[] = "s|y";
static const char no_letter[] = "n";

/* Every pattern above, compiled once (nlu.c, pat_compile_all). A pattern
 * missing here still matches, compiled on each use: test_nlu notices. */
static const char *const *const phrase_lists[] = {
	human_pats, status_pats, short_status_pats, refund_no_pats, refund_not_pats, refund_pats,
	yes_pats, confirm_pats, ack_pats, yes_over_no_pats, abbrev_pats, no_pats, thanks_pats,
	greeting_pats, damaged_pats, wrong_item_pats, not_described_pats, late_pats,
	missing_pats, tarde_pats, changed_mind_pats, injection_pats, chargeback_pats,
};
static const char *const phrase_words[] = {
	money_words, filler_words, not_late_tarde, dest_pat, account_words, transfer_pat,
	payment_pat, original_words, yes_letter, no_letter,
};

#endif
