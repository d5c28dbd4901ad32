package desk

// regionNames name the subjects of the federation by their two-digit code
// (as on car plates and in tax codes), Russian and English, for the
// citizen's choice of region. A code missing here shows as «Регион NN».
var regionNames = map[string][2]string{
	"01": {"Республика Адыгея", "Adygea"}, "02": {"Республика Башкортостан", "Bashkortostan"},
	"03": {"Республика Бурятия", "Buryatia"}, "05": {"Республика Дагестан", "Dagestan"},
	"07": {"Кабардино-Балкарская Республика", "Kabardino-Balkaria"}, "10": {"Республика Карелия", "Karelia"},
	"11": {"Республика Коми", "Komi"}, "12": {"Республика Марий Эл", "Mari El"}, "13": {"Республика Мордовия", "Mordovia"},
	"14": {"Республика Саха (Якутия)", "Sakha (Yakutia)"}, "16": {"Республика Татарстан", "Tatarstan"},
	"18": {"Удмуртская Республика", "Udmurtia"}, "19": {"Республика Хакасия", "Khakassia"},
	"21": {"Чувашская Республика", "Chuvashia"}, "22": {"Алтайский край", "Altai Krai"},
	"23": {"Краснодарский край", "Krasnodar Krai"}, "24": {"Красноярский край", "Krasnoyarsk Krai"},
	"25": {"Приморский край", "Primorsky Krai"}, "26": {"Ставропольский край", "Stavropol Krai"},
	"27": {"Хабаровский край", "Khabarovsk Krai"}, "29": {"Архангельская область", "Arkhangelsk Oblast"},
	"31": {"Белгородская область", "Belgorod Oblast"}, "34": {"Волгоградская область", "Volgograd Oblast"},
	"36": {"Воронежская область", "Voronezh Oblast"}, "38": {"Иркутская область", "Irkutsk Oblast"},
	"39": {"Калининградская область", "Kaliningrad Oblast"}, "42": {"Кемеровская область — Кузбасс", "Kemerovo Oblast"},
	"47": {"Ленинградская область", "Leningrad Oblast"}, "50": {"Московская область", "Moscow Oblast"},
	"52": {"Нижегородская область", "Nizhny Novgorod Oblast"}, "54": {"Новосибирская область", "Novosibirsk Oblast"},
	"55": {"Омская область", "Omsk Oblast"}, "59": {"Пермский край", "Perm Krai"},
	"61": {"Ростовская область", "Rostov Oblast"}, "63": {"Самарская область", "Samara Oblast"},
	"64": {"Саратовская область", "Saratov Oblast"}, "66": {"Свердловская область", "Sverdlovsk Oblast"},
	"72": {"Тюменская область", "Tyumen Oblast"}, "74": {"Челябинская область", "Chelyabinsk Oblast"},
	"76": {"Ярославская область", "Yaroslavl Oblast"}, "77": {"Москва", "Moscow"}, "78": {"Санкт-Петербург", "Saint Petersburg"},
	"86": {"Ханты-Мансийский автономный округ — Югра", "Khanty-Mansi Autonomous Okrug"},
	"92": {"Севастополь", "Sevastopol"},
}

// RegionName names region code in lang.
func RegionName(code, lang string) string {
	n, ok := regionNames[code]
	switch {
	case !ok && lang == "en":
		return "Region " + code
	case !ok:
		return "Регион " + code
	case lang == "en":
		return n[1]
	}
	return n[0]
}
