package contract

// provinces lists the GB/T 2260 province-level prefixes (two digits).
var provinces = map[string]string{
	"11": "北京市", "12": "天津市", "13": "河北省", "14": "山西省", "15": "内蒙古自治区",
	"21": "辽宁省", "22": "吉林省", "23": "黑龙江省",
	"31": "上海市", "32": "江苏省", "33": "浙江省", "34": "安徽省", "35": "福建省", "36": "江西省", "37": "山东省",
	"41": "河南省", "42": "湖北省", "43": "湖南省", "44": "广东省", "45": "广西壮族自治区", "46": "海南省",
	"50": "重庆市", "51": "四川省", "52": "贵州省", "53": "云南省", "54": "西藏自治区",
	"61": "陕西省", "62": "甘肃省", "63": "青海省", "64": "宁夏回族自治区", "65": "新疆维吾尔自治区",
	"71": "台湾省", "81": "香港特别行政区", "82": "澳门特别行政区",
}

// ValidRegionCode reports whether s is 6 ASCII digits with a GB/T 2260
// province prefix. City (NNMM00) and province (NN0000) codes are valid.
func ValidRegionCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	_, ok := provinces[s[:2]]
	return ok
}

// ProvinceName returns the Chinese name of the province of a region code.
func ProvinceName(r RegionCode) string {
	if len(r) < 2 {
		return ""
	}
	return provinces[string(r[:2])]
}

// Covers reports whether a registration's treatment area covers a region:
// the exact code, its city (NNMM00) or its province (NN0000).
func (area RegionCode) Covers(r RegionCode) bool {
	if len(area) != 6 || len(r) != 6 {
		return false
	}
	switch {
	case area == r:
		return true
	case area[2:] == "0000":
		return area[:2] == r[:2]
	case area[4:] == "00":
		return area[:4] == r[:4]
	}
	return false
}

// SameProvince and SameCity compare the prefixes of two region codes.
func SameProvince(a, b RegionCode) bool { return len(a) == 6 && len(b) == 6 && a[:2] == b[:2] }

// SameCity reports whether two region codes share their first four digits.
func SameCity(a, b RegionCode) bool { return len(a) == 6 && len(b) == 6 && a[:4] == b[:4] }
